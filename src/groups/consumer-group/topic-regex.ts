// SubscribedTopicRegex (ConsumerGroupHeartbeat v1) matched against topic names. Kafka compiles it with RE2/J and asks
// for a full match (Pattern.matcher(topic).matches()); kgate compiles it as a JavaScript RegExp with the `u` flag,
// anchored as ^(?:regex)$, which agrees with RE2 on the common subset: literals, ., character classes with ranges and
// negation, \d \w \s \D \W \S \b \B, escapes of metacharacters, groups (?:…) and (…), named groups (?<name>…),
// alternation, the quantifiers * + ? {n} {n,} {n,m} and their lazy forms, ^ and $ (no multiline).
// Refused with INVALID_REGULAR_EXPRESSION, where RE2 refuses too: backreferences (\1, \k<name>), lookahead and
// lookbehind ((?=, (?!, (?<=, (?<!), and anything JavaScript cannot parse.
// Refused although RE2 accepts them, because JavaScript would read them differently or not at all: inline flags
// ((?i), (?s), (?m), (?U), (?i:…)), \Q…\E, \z \A \C, POSIX classes ([[:alpha:]]), one-letter Unicode classes (\pL),
// and (?P<name>…). Topic names are ASCII letters, digits, '.', '_' and '-', so case and Unicode rules do not come in.
// Refused too, because JavaScript's backtracking engine (unlike RE2's linear one) can take exponential or high
// polynomial time on them and would stall the broker: a repeated group that itself repeats or alternates ((a+)+,
// (a|b)*), and more than limits.consumerGroupTopicRegexRepeatsMax unbounded or long repeats (*, +, {n,}, {n,m} with
// m ≥ 16) in one regex.
// Internal topics (__consumer_offsets, __transaction_state) are never matched, as the Java consumer excludes them.

import { limits } from "../../config.ts";

/** Constructs whose meaning differs between RE2 and JavaScript, or that RE2 refuses. */
const REFUSED_CONSTRUCTS: readonly { pattern: RegExp; reason: string }[] = [
  { pattern: /\(\?[imsU-]+[):]/, reason: "inline flags" },
  { pattern: /\(\?<?[=!]/, reason: "lookaround" },
  { pattern: /\(\?P</, reason: "(?P<name>) groups" },
  { pattern: /\[\[:/, reason: "POSIX character classes" },
  { pattern: /\\[1-9]|\\k</, reason: "backreferences" },
  { pattern: /\\[QEzACpP]/, reason: "RE2 escapes JavaScript reads differently" },
];

export type CompiledRegex = { regex: RegExp } | { error: string };

/** The regex to match topic names fully, or why it is refused. Escapes are checked outside character classes too. */
export function compileTopicRegex(source: string): CompiledRegex {
  for (const { pattern, reason } of REFUSED_CONSTRUCTS) {
    if (pattern.test(withoutEscapedBackslashes(source))) return { error: `${reason} are not supported: ${source}` };
  }
  const backtracking = backtrackingRisk(source);
  if (backtracking !== null) return { error: `${backtracking}: ${source}` };
  try {
    return { regex: new RegExp(`^(?:${source})$`, "u") };
  } catch (error) {
    return { error: `invalid regular expression ${source}: ${(error as Error).message}` };
  }
}

/** "\\\\" (an escaped backslash) must not make the next character look escaped. */
function withoutEscapedBackslashes(source: string): string {
  return source.replaceAll("\\\\", "__");
}

/** {n,m} with m at least this counts as unbounded. */
const LONG_REPEAT_MIN = 16;

/**
 * Why matching could take more than polynomial time of low degree, or null. A scan of the pattern: escapes and
 * character classes are atoms; each group remembers whether it repeats or alternates inside.
 */
function backtrackingRisk(source: string): string | null {
  const groups: { repeats: boolean; alternates: boolean }[] = [{ repeats: false, alternates: false }];
  let lastGroup: { repeats: boolean; alternates: boolean } | null = null;
  let unboundedRepeats = 0;
  for (let at = 0; at < source.length; at++) {
    const char = source[at]!;
    const current = groups.at(-1)!;
    let repeat: "bounded" | "unbounded" | null = null;
    if (char === "\\") {
      at++;
    } else if (char === "[") {
      for (at++; at < source.length && source[at] !== "]"; at++) if (source[at] === "\\") at++;
    } else if (char === "(") {
      groups.push({ repeats: false, alternates: false });
    } else if (char === ")") {
      if (groups.length > 1) {
        const closed = groups.pop()!;
        groups.at(-1)!.repeats ||= closed.repeats;
        lastGroup = closed;
        continue;
      }
    } else if (char === "|") {
      current.alternates = true;
    } else if (char === "*" || char === "+") {
      repeat = "unbounded";
    } else if (char === "{") {
      const bounds = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at));
      if (bounds) {
        at += bounds[0].length - 1;
        const max = bounds[2] === undefined ? Number(bounds[1]) : bounds[3] === "" ? Infinity : Number(bounds[3]);
        // A long bounded repeat backtracks like an unbounded one over a topic name.
        if (max >= LONG_REPEAT_MIN) repeat = "unbounded";
        else if (max > 1) repeat = "bounded";
      }
    }
    if (repeat !== null) {
      if (source[at + 1] === "?") at++;
      if (lastGroup !== null && (lastGroup.repeats || lastGroup.alternates)) return "a repeated group that repeats or alternates inside is not supported";
      if (repeat === "unbounded" && ++unboundedRepeats > limits.consumerGroupTopicRegexRepeatsMax) {
        return `more than ${limits.consumerGroupTopicRegexRepeatsMax} unbounded repeats are not supported`;
      }
      current.repeats = true;
    }
    lastGroup = null;
  }
  return null;
}
