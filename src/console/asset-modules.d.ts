// The console's assets, imported `with { type: "text" }` (src/console/assets.ts): their contents as a string.
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "*/console.js" {
  const text: string;
  export default text;
}
declare module "uplot/dist/uPlot.iife.min.js" {
  const text: string;
  export default text;
}
