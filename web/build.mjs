// Builds the page into dist/: the bundled script (esbuild), the HTML, the styles and an example
// of config.json (the intake key and the server's address, written by whoever deploys the page).
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");
await build({
  entryPoints: ["src/app.ts"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outfile: "dist/app.js",
  logLevel: "warning",
});
for (const file of ["index.html", "styles.css", "config.example.json"]) {
  cpSync(`src/${file}`, `dist/${file}`);
}
