// `import path from "./x.c" with { type: "file" }` gives the file's path (embedded by `bun build --compile`).
declare module "*.c" {
  const path: string;
  export default path;
}
