#!/usr/bin/env node
// Builds a platform-specific VSIX (default linux-x64) whose node_modules hold only what the
// engine server needs at run time: node-llama-cpp, its production dependencies, the prebuilt CPU
// binding for the target and, where node-llama-cpp publishes one (linux-x64, win32-x64), its
// Vulkan binding: "Vulkan inside, CUDA on demand" (docs/extension.md gives the sizes and why).
// No node-llama-cpp/llama/gitRelease.bundle. Everything else is bundled by esbuild.
//
//   node scripts/package-vsix.mjs [--target=linux-x64] [--gpu=vulkan|none|vulkan,cuda|vulkan,cuda,cuda-ext] [--out=file.vsix] [--no-verify]
//
// --gpu: the GPU bindings to carry; default "vulkan" where it exists for the target, "none" for
// the CPU-only VSIX. "cuda" (and "cuda-ext", CUDA's own runtime) are for measuring or a
// separate CUDA build; the extension installs CUDA on demand instead.
//
// Steps: production build -> staging folder (.tools/vsix-staging) with a trimmed package.json,
// dist/, media/icon.svg, models/, the bundled calibration set, the node_modules closure -> `vsce package --target` -> verify:
// list the VSIX, then unpack it and run one real reason request through its engine server.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (n, d) => args.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3) ?? d;
const target = opt("target", "linux-x64");
const gpuOption = opt("gpu", "default");
const verify = !args.includes("--no-verify");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const out = opt("out", join(root, `${pkg.name}-${target}-${pkg.version}.vsix`));

/** node-llama-cpp prebuilt binding packages per VS Code target. */
const BINDINGS = {
  "linux-x64": { base: ["linux-x64"], vulkan: ["linux-x64-vulkan"], cuda: ["linux-x64-cuda"], "cuda-ext": ["linux-x64-cuda-ext"] },
  "linux-arm64": { base: ["linux-arm64"], vulkan: [], cuda: [] },
  "linux-armhf": { base: ["linux-armv7l"], vulkan: [], cuda: [] },
  "darwin-arm64": { base: ["mac-arm64-metal"], vulkan: [], cuda: [] },
  "darwin-x64": { base: ["mac-x64"], vulkan: [], cuda: [] },
  "win32-x64": { base: ["win-x64"], vulkan: ["win-x64-vulkan"], cuda: ["win-x64-cuda"], "cuda-ext": ["win-x64-cuda-ext"] },
  "win32-arm64": { base: ["win-arm64"], vulkan: [], cuda: [] },
};
const binding = BINDINGS[target];
if (!binding) {
  console.error(`package: unknown target ${target}; use one of ${Object.keys(BINDINGS).join(", ")}`);
  process.exit(2);
}
const GPU_KINDS = ["vulkan", "cuda", "cuda-ext"];
const gpu =
  gpuOption === "default" ? (binding.vulkan.length > 0 ? ["vulkan"] : []) : gpuOption === "none" ? [] : gpuOption.split(",").filter(Boolean);
const badGpu = gpu.filter((g) => !GPU_KINDS.includes(g));
if (badGpu.length) {
  console.error(`package: unknown --gpu ${badGpu.join(",")}; use none, or a list of ${GPU_KINDS.join(", ")}`);
  process.exit(2);
}
const unpublished = gpu.filter((g) => (binding[g] ?? []).length === 0);
if (unpublished.length) {
  console.error(`package: node-llama-cpp publishes no ${unpublished.join(", ")} binding for ${target}; use --gpu=none`);
  process.exit(2);
}
if (gpu.includes("cuda-ext") && !gpu.includes("cuda")) {
  console.error("package: --gpu=cuda-ext needs cuda too (the -ext package is only the CUDA binding's runtime)");
  process.exit(2);
}
const keepBindings = new Set([...binding.base, ...gpu.flatMap((g) => binding[g])].map((b) => `@node-llama-cpp/${b}`));

const run = (cmd, argv, opts = {}) => execFileSync(cmd, argv, { stdio: "inherit", ...opts });

// 1. Production bundles.
run(process.execPath, [join(root, "esbuild.mjs"), "--production", "--only=extension,server,webview"], { cwd: root });

// 2. node_modules closure of node-llama-cpp.
function findPackage(fromDir, name) {
  let dir = fromDir;
  for (;;) {
    const cand = join(dir, "node_modules", name);
    if (existsSync(join(cand, "package.json"))) return cand;
    if (dir === root) return null;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}
const closure = new Map(); // abs dir -> name
const queue = [[root, "node-llama-cpp", false]];
const missingRequired = [];
while (queue.length) {
  const [from, name, optional] = queue.shift();
  if (name.startsWith("@node-llama-cpp/") && !keepBindings.has(name)) continue;
  const dir = findPackage(from, name);
  if (!dir) {
    if (!optional) missingRequired.push(`${name} (needed by ${relative(root, from) || "."})`);
    continue;
  }
  if (closure.has(dir)) continue;
  closure.set(dir, name);
  const pj = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  for (const d of Object.keys(pj.dependencies ?? {})) queue.push([dir, d, false]);
  for (const d of Object.keys(pj.optionalDependencies ?? {})) queue.push([dir, d, true]);
}
if (missingRequired.length) {
  console.error(`package: missing dependencies: ${missingRequired.join(", ")} — run npm ci`);
  process.exit(1);
}
for (const b of keepBindings) {
  if (![...closure.values()].includes(b)) {
    console.error(`package: ${b} is not installed here, so a ${target} VSIX cannot be built on this machine`);
    process.exit(1);
  }
}

// 3. Staging folder.
const stage = join(root, ".tools", "vsix-staging");
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const stagedPkg = {
  name: pkg.name,
  displayName: pkg.displayName,
  description: pkg.description,
  version: pkg.version,
  publisher: pkg.publisher,
  license: pkg.license,
  engines: pkg.engines,
  categories: pkg.categories,
  keywords: pkg.keywords,
  main: pkg.main,
  activationEvents: pkg.activationEvents,
  contributes: pkg.contributes,
  repository: pkg.repository,
  dependencies: { "node-llama-cpp": pkg.dependencies["node-llama-cpp"] },
};
writeFileSync(join(stage, "package.json"), JSON.stringify(stagedPkg, null, 2));
cpSync(join(root, "dist"), join(stage, "dist"), {
  recursive: true,
  filter: (src) => !src.endsWith(".map") && !src.includes(`${join("dist", "extension-tests")}`) && !src.endsWith("cli.mjs"),
});
mkdirSync(join(stage, "media"), { recursive: true });
cpSync(join(root, "media", "icon.svg"), join(stage, "media", "icon.svg"));
if (!existsSync(join(root, "models"))) {
  console.error("package: models/ missing (the embedded demo pair ships in the VSIX)");
  process.exit(1);
}
cpSync(join(root, "models"), join(stage, "models"), {
  recursive: true,
  filter: (s) => statSync(s).isDirectory() || s.endsWith(".gguf") || s.endsWith(".json") || s.endsWith(".md"),
});
// The problem set "Arbitrage: Calibrate Router…" offers for the embedded pair.
const calibrationSet = join("bench", "problems", "calibration-embedded.jsonl");
mkdirSync(join(stage, "bench", "problems"), { recursive: true });
cpSync(join(root, calibrationSet), join(stage, calibrationSet));
const readme = existsSync(join(root, "README.md")) ? join(root, "README.md") : join(root, "docs", "extension.md");
cpSync(readme, join(stage, "README.md"));
const license = ["LICENSE", "LICENSE.md", "LICENSE.txt"].map((f) => join(root, f)).find((f) => existsSync(f));
if (license) cpSync(license, join(stage, "LICENSE"));
for (const [dir] of closure) {
  const rel = relative(root, dir);
  cpSync(dir, join(stage, rel), {
    recursive: true,
    filter: (src) => {
      const r = relative(dir, src);
      if (r.split("/")[0] === "node_modules") return false; // nested deps are copied on their own
      if (rel === join("node_modules", "node-llama-cpp") && r === join("llama", "gitRelease.bundle")) return false;
      return true;
    },
  });
}
// The repository's .vscodeignore applies to the staged tree too (GPU-binding rules are moot there).
const ignoreLines = readFileSync(join(root, ".vscodeignore"), "utf8")
  .split("\n")
  .filter((l) => ![...keepBindings].some((b) => l.startsWith(`node_modules/${b}/`)));
writeFileSync(join(stage, ".vscodeignore"), ignoreLines.join("\n"));

// 4. vsce.
const vsce = join(root, "node_modules", "@vscode", "vsce", "vsce");
const vsceArgs = ["package", "--target", target, "--out", out, "--allow-missing-repository", "--no-update-package-json"];
if (!license) vsceArgs.push("--skip-license");
// Without a repository URL, relative README links cannot be made absolute: keep them as they are.
if (!pkg.repository) vsceArgs.push("--no-rewrite-relative-links");
rmSync(out, { force: true });
run(process.execPath, [vsce, ...vsceArgs], { cwd: stage });

// 5. Verify.
const size = statSync(out).size;
const listing = execFileSync("unzip", ["-l", out], { encoding: "utf8" });
const entries = listing
  .split("\n")
  .filter((l) => /extension\//.test(l))
  .map((l) => l.trim().split(/\s+/).slice(3).join(" "));
const forbidden = entries.filter((e) => /gitRelease\.bundle|\.map$/.test(e));
const bindingDirs = [...new Set(entries.map((e) => /node_modules\/@node-llama-cpp\/([^/]+)\//.exec(e)?.[1]).filter(Boolean))];
console.log(`\nVSIX: ${relative(root, out)} — ${(size / 1024 / 1024).toFixed(1)} MiB, ${entries.length} files`);
console.log(`prebuilt bindings: ${bindingDirs.join(", ")}`);
if (forbidden.length) {
  console.error(`package: forbidden files in the VSIX: ${forbidden.slice(0, 5).join(", ")}`);
  process.exit(1);
}
// No test-only code ships: the e2e hooks live in a companion extension under
// dist/extension-tests/ (extension-tests/hooks-extension), never in the product bundle or manifest.
const shipped = ["extension/dist/extension.cjs", "extension/package.json"].map((f) => [
  f,
  execFileSync("unzip", ["-p", out, f], { encoding: "utf8", maxBuffer: 64 << 20 }),
]);
const testOnly = /injectSteps|arbitrage\.test\.|arbitrageTests\.|__arbPwned|devMode|HOSTILE_STEP_TEXTS|extension-tests/;
const leaked = entries
  .filter((e) => /extension-tests|hooks-extension/.test(e))
  .concat(shipped.filter(([, text]) => testOnly.test(text)).map(([f, text]) => `${f} (${testOnly.exec(text)[0]})`));
if (leaked.length) {
  console.error(`package: test-only code in the VSIX: ${leaked.slice(0, 5).join(", ")}`);
  process.exit(1);
}
console.log("no test-only code in the VSIX (dist/extension.cjs, package.json, file list)");
const unexpected = bindingDirs.filter((b) => !keepBindings.has(`@node-llama-cpp/${b}`));
if (unexpected.length) {
  console.error(`package: unexpected binding packages: ${unexpected.join(", ")}`);
  process.exit(1);
}
if (verify && target === `${process.platform === "darwin" ? "darwin" : process.platform}-${process.arch}`) {
  // Outside the repository, so nothing can resolve from the repo's own node_modules.
  const dir = mkdtempSync(join(tmpdir(), "arbvsix-"));
  execFileSync("unzip", ["-q", out, "-d", dir]);
  const ext = join(dir, "extension");
  const t0 = Date.now();
  const res = execFileSync(process.execPath, [join(root, "scripts", "verify-vsix-engine.mjs"), ext], { encoding: "utf8", timeout: 180_000 });
  console.log(res.trim());
  console.log(`verified the unpacked VSIX's engine server in ${Date.now() - t0} ms`);
  rmSync(dir, { recursive: true, force: true });
}
writeFileSync(
  join(root, ".tools", "vsix-size.json"),
  JSON.stringify({ file: relative(root, out), bytes: size, files: entries.length, gpu, bindings: bindingDirs }, null, 2),
);
