// Prints the size of each production bundle (minified, and gzip -9) and how many of its bytes are
// valibot's, from esbuild's metafile; the figures in ARCHITECTURE.md ("Libraries, and why") come
// from it. Builds in memory with the production options of esbuild.mjs; writes nothing.
// Usage: node scripts/bundle-sizes.mjs
import * as esbuild from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const nodeLlamaExternal = ["node-llama-cpp", "@node-llama-cpp/*"];
const bundles = {
  "extension host (dist/extension.cjs)": {
    entryPoints: ["src/extension/main.ts"],
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode", ...nodeLlamaExternal],
  },
  "engine server (dist/server.mjs)": {
    entryPoints: ["src/server/main.ts"],
    platform: "node",
    format: "esm",
    target: "node20",
    external: nodeLlamaExternal,
  },
  "webview (dist/webview/webview.js)": { entryPoints: ["media/webview.ts"], platform: "browser", format: "iife", target: ["chrome120"] },
  "all of valibot (import * as v, every export kept)": {
    stdin: { contents: 'import * as v from "valibot"; globalThis.v = v;', resolveDir: root },
    platform: "browser",
    format: "iife",
    target: ["chrome120"],
  },
};

for (const [name, options] of Object.entries(bundles)) {
  const r = await esbuild.build({
    ...options,
    bundle: true,
    minify: true,
    legalComments: "none",
    write: false,
    outdir: "/tmp/unused",
    metafile: true,
    absWorkingDir: root,
    logLevel: "error",
  });
  const js = r.outputFiles.find((f) => f.path.endsWith(".js") || f.path.endsWith(".cjs") || f.path.endsWith(".mjs"));
  const output = Object.entries(r.metafile.outputs).find(([path]) => !path.endsWith(".map") && !path.endsWith(".css"))[1];
  const valibot = Object.entries(output.inputs)
    .filter(([path]) => path.includes("node_modules/valibot/"))
    .reduce((n, [, i]) => n + i.bytesInOutput, 0);
  console.log(`${name}: ${js.contents.length} B minified, ${gzipSync(js.contents, { level: 9 }).length} B gzip; valibot ${valibot} B`);
}
