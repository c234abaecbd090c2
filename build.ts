// Typechecks, compiles src/main.ts into one executable (dist/kgate) and runs it once to prove it starts.

import { $ } from "bun";

const outfile = "dist/kgate";
await $`./node_modules/.bin/tsc --noEmit -p .`;
await $`bun build --compile --minify --sourcemap src/main.ts --outfile ${outfile}`;
const help = await $`./${outfile} --help`.text();
if (!help.includes("--listen")) throw new Error(`${outfile} --help did not print the options`);
console.log(`built ${outfile}`);
