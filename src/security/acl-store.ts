// The ACL bindings, kept in memory and, with a data folder, in one `acls.json` replaced atomically (write temp,
// fsync, rename, fsync the folder) after every change, before the client hears it succeeded — as topics.json.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../log/file/file-io.ts";
import { bindingKey, filterMatches, invalidBindingReason, PatternType, type AclBinding, type AclBindingFilter } from "./acl.ts";

export const ACL_FILE = "acls.json";
const ACL_FILE_VERSION = 1;

interface AclFile {
  version: number;
  acls: AclBinding[];
}

export class AclStore {
  private readonly bindings = new Map<string, AclBinding>();
  /** Literal bindings by "type\0name": the authorizer's lookup for one resource (and its `*` wildcard). */
  private readonly literal = new Map<string, AclBinding[]>();
  /** Prefixed bindings by resource type: scanned with startsWith (few in practice). */
  private readonly prefixed = new Map<number, AclBinding[]>();
  private readonly path: string | null;

  /** With a data folder, loads `acls.json` (throws on a damaged file: never guess about permissions). */
  constructor(dataDir: string | null) {
    this.path = dataDir === null ? null : join(dataDir, ACL_FILE);
    if (this.path === null || !existsSync(this.path)) return;
    const parsed = JSON.parse(readFileSync(this.path, "utf8")) as AclFile;
    if (parsed.version !== ACL_FILE_VERSION || !Array.isArray(parsed.acls)) throw new Error(`${this.path}: unknown ACL file version ${parsed.version}`);
    for (const binding of parsed.acls) {
      const invalid = invalidBindingReason(binding);
      if (invalid !== null) throw new Error(`${this.path}: invalid ACL ${JSON.stringify(binding)}: ${invalid}`);
      this.insert(binding);
    }
  }

  get size(): number {
    return this.bindings.size;
  }

  /** Adds bindings (an existing one is kept once) and persists them; throws when the file cannot be written. */
  add(bindings: AclBinding[]): void {
    const added = bindings.filter((binding) => this.insert({ ...binding }));
    if (added.length === 0) return;
    try {
      this.save();
    } catch (error) {
      for (const binding of added) this.remove(binding);
      throw error;
    }
  }

  /** The bindings each filter matches, removed from the store and persisted; throws when the file cannot be written. */
  delete(filters: AclBindingFilter[]): AclBinding[][] {
    const removed = new Set<string>();
    const matched = filters.map((filter) => {
      const found = this.list(filter);
      for (const binding of found) removed.add(bindingKey(binding));
      return found;
    });
    if (removed.size === 0) return matched;
    const removedBindings = [...removed].map((key) => this.bindings.get(key)!);
    for (const binding of removedBindings) this.remove(binding);
    try {
      this.save();
    } catch (error) {
      for (const binding of removedBindings) this.insert(binding);
      throw error;
    }
    return matched;
  }

  list(filter?: AclBindingFilter): AclBinding[] {
    const all = [...this.bindings.values()];
    return filter ? all.filter((binding) => filterMatches(filter, binding)) : all;
  }

  /** Bindings that apply to the resource: literal on its name or `*`, and prefixes of its name. */
  applicable(resourceType: number, resourceName: string): AclBinding[] {
    const found: AclBinding[] = [];
    const exact = this.literal.get(`${resourceType}\u0000${resourceName}`);
    if (exact) found.push(...exact);
    if (resourceName !== "*") {
      const wildcard = this.literal.get(`${resourceType}\u0000*`);
      if (wildcard) found.push(...wildcard);
    }
    for (const binding of this.prefixed.get(resourceType) ?? []) if (resourceName.startsWith(binding.resourceName)) found.push(binding);
    return found;
  }

  private insert(binding: AclBinding): boolean {
    const key = bindingKey(binding);
    if (this.bindings.has(key)) return false;
    this.bindings.set(key, binding);
    if (binding.patternType === PatternType.PREFIXED) {
      let list = this.prefixed.get(binding.resourceType);
      if (!list) this.prefixed.set(binding.resourceType, (list = []));
      list.push(binding);
    } else {
      const indexKey = `${binding.resourceType}\u0000${binding.resourceName}`;
      let list = this.literal.get(indexKey);
      if (!list) this.literal.set(indexKey, (list = []));
      list.push(binding);
    }
    return true;
  }

  private remove(binding: AclBinding): void {
    const key = bindingKey(binding);
    if (!this.bindings.delete(key)) return;
    if (binding.patternType === PatternType.PREFIXED) removeFromIndex(this.prefixed, binding.resourceType, key);
    else removeFromIndex(this.literal, `${binding.resourceType}\u0000${binding.resourceName}`, key);
  }

  private save(): void {
    if (this.path === null) return;
    const file: AclFile = { version: ACL_FILE_VERSION, acls: [...this.bindings.values()] };
    writeFileAtomic(this.path, JSON.stringify(file, null, 1) + "\n");
  }
}

function removeFromIndex<K>(index: Map<K, AclBinding[]>, indexKey: K, key: string): void {
  const list = index.get(indexKey);
  if (!list) return;
  const at = list.findIndex((candidate) => bindingKey(candidate) === key);
  if (at >= 0) list.splice(at, 1);
  if (list.length === 0) index.delete(indexKey);
}
