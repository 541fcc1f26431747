#!/usr/bin/env node
// Runs one real reason request through the engine server of an unpacked VSIX
// (`<dir>/dist/server.mjs`, with only the VSIX's node_modules): proves the packaged
// node-llama-cpp, bindings and embedded models are complete. The engine picks its backend with
// gpu "auto", as an installed extension does: a GPU binding the VSIX carries is tried, and on a
// machine without a GPU the load reports the fallback to the CPU and why.
// Usage: verify-vsix-engine.mjs <extension dir>. Prints the backend report and the answer as one
// JSON line ("verify-vsix: {...}"); exits 1 unless "(12+7)*3-5" is answered 52.
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const ext = process.argv[2];
const child = fork(join(ext, "dist", "server.mjs"), ["--node-ipc"], { cwd: ext, stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [] });
const pending = new Map();
child.on("message", (m) => {
  if (m && m.id !== undefined && pending.has(m.id)) {
    pending.get(m.id)(m);
    pending.delete(m.id);
  }
});
let id = 0;
const request = (method, params) =>
  new Promise((resolve) => {
    pending.set(++id, resolve);
    child.send({ jsonrpc: "2.0", id, method, params });
  });
const timer = setTimeout(() => {
  console.error("verify-vsix: no answer within 150 s");
  child.kill("SIGKILL");
  process.exit(1);
}, 150_000);
await request("initialize", { processId: process.pid, rootUri: null, capabilities: {} });
child.send({ jsonrpc: "2.0", method: "initialized", params: {} });
const hasRouter = existsSync(join(ext, "models", "router.gguf"));
const hasPrm = existsSync(join(ext, "models", "prm.gguf"));
if (!hasRouter) console.log("verify-vsix: models/router.gguf not in the VSIX; using the confidence router");
const config = {
  draft: "embedded",
  target: "embedded",
  router: hasRouter ? "embedded" : "confidence",
  scorer: hasPrm ? "embedded" : "exact",
  gpu: "auto",
  gpuLayers: "auto",
  threads: 1,
  contextSize: 1024,
};
const fail = (message) => {
  console.error(`verify-vsix: ${message}`);
  child.kill("SIGKILL");
  process.exit(1);
};
const load = await request("arbitrage/load", { config });
if (load.error) fail(`load error: ${JSON.stringify(load.error)}`);
const question = "(12+7)*3-5";
const r = await request("arbitrage/reason", { requestId: "verify", question, config, options: { maxSteps: 16 } });
clearTimeout(timer);
child.kill("SIGKILL");
if (r.error) fail(`engine error: ${JSON.stringify(r.error)}`);
const by = r.result.stats.stepsByModel;
console.log(`verify-vsix: ${r.result.steps.length} steps (draft ${by.draft}, target ${by.target}), finish ${r.result.finishReason}`);
console.log(`verify-vsix: ${JSON.stringify({ question, answer: r.result.answer, gpu: load.result.gpu, warnings: load.result.warnings })}`);
if (r.result.answer !== "52") fail(`answered ${JSON.stringify(r.result.answer)} to ${question}, expected 52`);
process.exit(0);
