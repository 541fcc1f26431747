// One build config for every bundle of the project.
//   dist/extension.cjs          extension host (CommonJS, `vscode` external, no node-llama-cpp)
//   dist/server.mjs             engine server process (ESM; node-llama-cpp + @node-llama-cpp/* external)
//   dist/extra-bindings-hook.mjs  its module resolve hook (installed @node-llama-cpp/* packages, e.g. CUDA)
//   dist/webview/webview.js     webview script (browser IIFE: markdown-it, KaTeX, highlight.js, DOMPurify)
//   dist/webview/webview.css    webview styles + KaTeX stylesheet, fonts in dist/webview/fonts/
//   dist/cli.mjs                command-line interface (ESM; node-llama-cpp external), when src/cli/main.ts exists
//   dist/extension-tests/*.cjs  integration tests run inside the extension host (skipped with --production)
//   dist/extension-tests/hooks-extension/  the test-only companion extension (e2e test hooks)
// Usage: node esbuild.mjs [--production] [--watch] [--only=extension,server,webview,cli,tests]
import * as esbuild from "esbuild";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const production = args.includes("--production");
const watch = args.includes("--watch");
const onlyArg = args.find((a) => a.startsWith("--only="));
const only = onlyArg ? new Set(onlyArg.slice("--only=".length).split(",")) : null;
const want = (name) => (only ? only.has(name) : name !== "tests" || !production);

const nodeLlamaExternal = ["node-llama-cpp", "@node-llama-cpp/*"];
// ESM bundles that contain CommonJS dependencies need a real `require` for Node built-ins.
const esmRequireBanner = 'import { createRequire as __arbCreateRequire } from "node:module"; const require = __arbCreateRequire(import.meta.url);';

const common = {
  bundle: true,
  sourcemap: production ? false : "linked",
  minify: production,
  logLevel: "warning",
  legalComments: "none",
  absWorkingDir: root,
};

const builds = [];

if (want("extension")) {
  builds.push({
    ...common,
    entryPoints: ["src/extension/main.ts"],
    outfile: "dist/extension.cjs",
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode", ...nodeLlamaExternal],
  });
}

if (want("server")) {
  builds.push({
    ...common,
    entryPoints: ["src/server/main.ts"],
    outfile: "dist/server.mjs",
    platform: "node",
    format: "esm",
    target: "node20",
    external: nodeLlamaExternal,
    banner: { js: esmRequireBanner },
  });
  // The engine server's module resolve hook (module.register takes a file of its own).
  builds.push({
    ...common,
    entryPoints: ["src/server/extra-bindings-hook.ts"],
    outfile: "dist/extra-bindings-hook.mjs",
    platform: "node",
    format: "esm",
    target: "node20",
  });
}

if (want("webview")) {
  builds.push({
    ...common,
    entryPoints: { webview: "media/webview.ts" },
    outdir: "dist/webview",
    platform: "browser",
    format: "iife",
    target: ["chrome120"],
  });
  builds.push({
    ...common,
    entryPoints: { webview: "media/webview.css" },
    outdir: "dist/webview",
    assetNames: "fonts/[name]",
    loader: { ".woff2": "file", ".woff": "file", ".ttf": "file" },
    sourcemap: false,
  });
}

if (want("cli")) {
  if (existsSync(join(root, "src/cli/main.ts"))) {
    builds.push({
      ...common,
      entryPoints: ["src/cli/main.ts"],
      outfile: "dist/cli.mjs",
      platform: "node",
      format: "esm",
      target: "node20",
      external: nodeLlamaExternal,
      banner: { js: esmRequireBanner },
    });
  } else {
    console.log("esbuild: src/cli/main.ts not found; skipping dist/cli.mjs");
  }
}

if (want("tests")) {
  const suite = join(root, "extension-tests/suite");
  if (existsSync(suite)) {
    rmSync(join(root, "dist/extension-tests"), { recursive: true, force: true });
    const entries = readdirSync(suite)
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `extension-tests/suite/${f}`);
    builds.push({
      ...common,
      entryPoints: entries,
      outdir: "dist/extension-tests",
      outExtension: { ".js": ".cjs" },
      platform: "node",
      format: "cjs",
      target: "node20",
      external: ["vscode", "mocha", ...nodeLlamaExternal],
    });
  }
  // The test-only companion extension (extension-tests/hooks-extension): its manifest and bundle
  // go under dist/extension-tests/, which no VSIX contains.
  const hooks = join(root, "extension-tests/hooks-extension");
  if (existsSync(hooks)) {
    const out = join(root, "dist/extension-tests/hooks-extension");
    mkdirSync(out, { recursive: true });
    cpSync(join(hooks, "package.json"), join(out, "package.json"));
    builds.push({
      ...common,
      entryPoints: ["extension-tests/hooks-extension/extension.ts"],
      outfile: "dist/extension-tests/hooks-extension/extension.cjs",
      platform: "node",
      format: "cjs",
      target: "node20",
      external: ["vscode"],
    });
  }
}

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log("esbuild: watching…");
} else {
  const t0 = Date.now();
  await Promise.all(builds.map((b) => esbuild.build(b)));
  console.log(`esbuild: ${builds.length} bundles in ${Date.now() - t0} ms`);
}
