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
  const file = (id) => {
    const e = manifest().models.find((m) => m.id === id);
    if (!e) throw new Error(`no real model ${id} in models/real-models.json`);
    return join(realModelsDir(), e.file);
  };
  const pair = { draft: file("smollm2-135m-instruct"), target: file("gemma3-270m") };
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

/**
 * The run (lib/real-pair.json): "What is 12+7?", answer 19, 1 thread, 5 steps of at most 40 tokens,
 * context 512, threshold 0.999. The threshold is where the confidence router mixes the two
 * models, measured with the CLI (`arbitrage reason --router confidence --threads 1 --max-steps 5
 * --max-tokens-per-step 40 --context-size 512 --threshold T`, 11 short questions): with its
 * default weights (fitted on the embedded pair) the draft steps of these models score
 * 0.988–0.99999999, so any threshold up to 0.98 sends every step to the target (seen at 0.3, 0.45,
 * 0.5 and 0.6). At 0.999 "What is 12+7?" gets step 1 from the target (the draft's step scored
 * 0.9996) and step 2 from the draft (0.988); answer 19.
 */
const run = JSON.parse(readFileSync(join(root, "extension-tests", "lib", "real-pair.json"), "utf8"));
export const REAL_QUESTION = run.question;
export const REAL_ANSWER = run.answer;
export const REAL_SETTINGS = run.settings;
