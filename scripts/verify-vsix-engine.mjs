#!/usr/bin/env node
// Runs one real reason request through the engine server of an unpacked VSIX
// (`<dir>/dist/server.mjs`, with only the VSIX's node_modules): proves the packaged
// node-llama-cpp, binding and embedded models are complete. Usage: verify-vsix-engine.mjs <extension dir>
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
  gpu: "cpu",
  gpuLayers: "auto",
  threads: 1,
  contextSize: 1024,
};
const r = await request("arbitrage/reason", { requestId: "verify", question: "Q: 12*7+5", config, options: { maxSteps: 16 } });
clearTimeout(timer);
child.kill("SIGKILL");
if (r.error) {
  console.error(`verify-vsix: engine error: ${JSON.stringify(r.error)}`);
  process.exit(1);
}
const by = r.result.stats.stepsByModel;
console.log(`verify-vsix: ${r.result.steps.length} steps (draft ${by.draft}, target ${by.target}), finish ${r.result.finishReason}`);
process.exit(0);
