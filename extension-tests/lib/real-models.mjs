// The real published models of models/real-models.json (SmolLM2-135M-Instruct draft, Gemma 3 270M
// target) for the extension tests. Same folder logic as test/real/helpers.ts and
// scripts/fetch-real-models.sh: ARBITRAGE_REAL_MODELS, else $XDG_CACHE_HOME or ~/.cache, then
// arbitrage/real-models. Missing files are fetched with scripts/fetch-real-models.sh (cached
// outside the clone, sha256-checked).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { root } from "./code-server.mjs";

export function realModelsDir() {
  return process.env.ARBITRAGE_REAL_MODELS ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "arbitrage", "real-models");
}

function manifest() {
  return JSON.parse(readFileSync(join(root, "models", "real-models.json"), "utf8"));
}

/** { draft, target } absolute paths; fetches the files first when one is missing. */
export function realPair() {
  return realPairOf("smollm2-135m-instruct", "gemma3-270m");
}

/** The real code pair, Qwen2.5-Coder 0.5B → 1.5B Instruct: { draft, target } absolute paths. */
export function realCodePair() {
  return realPairOf("qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct");
}

function realPairOf(draftId, targetId) {
  const file = (id) => {
    const e = manifest().models.find((m) => m.id === id);
    if (!e) throw new Error(`no real model ${id} in models/real-models.json`);
    return join(realModelsDir(), e.file);
  };
  const pair = { draft: file(draftId), target: file(targetId) };
  if (!existsSync(pair.draft) || !existsSync(pair.target)) {
    const r = spawnSync("bash", [join(root, "scripts", "fetch-real-models.sh")], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (r.status !== 0) throw new Error(`scripts/fetch-real-models.sh failed (exit ${r.status}); the real models are needed for the real-pair tests`);
  }
  for (const p of Object.values(pair)) if (!existsSync(p)) throw new Error(`${p} is missing after scripts/fetch-real-models.sh`);
  return pair;
}
