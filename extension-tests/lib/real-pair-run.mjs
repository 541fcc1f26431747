// The real-pair run of the extension tests (e2e-real.test.mjs, suite/real-pair.test.ts), measured on
// this machine with the CLI before they start (scripts/test-extension.sh runs this file).
//
// Why measured and not written down: the real models' greedy text and the confidence router's
// scores depend on the CPU kernels llama.cpp picks. The same SmolLM2 → Gemma 3 run answered
// "12+7" with 19 on the machines these tests were written on and with 15 on one whose binding loaded
// libggml-cpu-haswell (an AVX2-only EPYC, 2026-12-04), where a draft step scored 0.9999999 instead
// of 0.988: the fixed threshold 0.999 mixed the two models there and sent every step to the target
// here. The tests check that the extension shows what the engine computes; this file says what
// the engine computes here, through the same CLI a user runs.
//
// The threshold: one run at threshold 1 (the draft writes every step) gives the router's score of
// each draft step along the draft's own path. A threshold above the scores of steps 1..k-1 and at
// most the score of step k, the first step scoring higher than every step before it, keeps steps
// 1..k-1 with the draft and sends step k to the target: both models write. It is rounded to the
// fewest decimals that still fall in that interval, then checked by a run at that threshold.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { root } from "./code-server.mjs";
import { realPair } from "./real-models.mjs";

export const REAL_RUN_FILE = join(root, ".test-artifacts", "real-pair-run.json");
const BASE = JSON.parse(readFileSync(join(root, "extension-tests", "lib", "real-pair.json"), "utf8"));

function reasonJson(pair, threshold) {
  const s = { ...BASE.settings, threads: Number(process.env.ARBITRAGE_TEST_THREADS ?? BASE.settings.threads) };
  const args = [join(root, "bin", "arbitrage.mjs"), "reason", "--json", "--draft", pair.draft, "--target", pair.target];
  args.push("--policy", s.policy, "--router", "confidence", "--threads", String(s.threads), "--max-steps", String(s.maxSteps));
  args.push("--max-tokens-per-step", String(s.maxTokensPerStep), "--context-size", String(s.contextSize));
  args.push("--threshold", String(threshold), BASE.question);
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`arbitrage reason (threshold ${threshold}) exited ${r.status}: ${r.stderr.trim().slice(-600)}`);
  return JSON.parse(r.stdout);
}

/** The shortest decimal in (above, atMost], or null when the interval is empty. */
function roundThreshold(above, atMost) {
  if (!(atMost > above)) return null;
  for (let d = 3; d <= 8; d++) {
    const f = 10 ** d;
    const t = Math.floor(above * f + 1) / f;
    if (t > above && t <= atMost) return Number(t.toFixed(d));
  }
  return null;
}

/** The threshold that mixes the two models on the draft's path (see the file's comment). */
function mixingThreshold(scores) {
  let best = scores[0];
  for (let k = 1; k < scores.length; k++) {
    if (scores[k] > best) {
      const t = roundThreshold(best, scores[k]);
      if (t !== null) return t;
    }
    best = Math.max(best, scores[k]);
  }
  return null;
}

const bothModels = (result) => ["draft", "target"].every((m) => result.steps.some((s) => s.model === m));

export function measureRealRun() {
  const pair = realPair();
  const draftOnly = reasonJson(pair, 1);
  const scores = draftOnly.steps.map((s) => s.routerScore);
  // The derived threshold first; then the one these tests used to fix, and its neighbours.
  const candidates = [mixingThreshold(scores), 0.999, 0.9995, 0.9999, 0.995, 0.99].filter((t) => t !== null);
  for (const threshold of [...new Set(candidates)]) {
    const result = reasonJson(pair, threshold);
    if (!bothModels(result)) continue;
    return {
      about:
        "Measured by extension-tests/lib/real-pair-run.mjs on this machine: the CLI's run of the real pair at a threshold where both models write.",
      question: BASE.question,
      answer: result.answer,
      settings: { ...BASE.settings, threshold },
      steps: result.steps.map((s) => ({ model: s.model, text: s.text, routerScore: s.routerScore })),
      draftPathScores: scores,
      measured: new Date().toISOString(),
    };
  }
  throw new Error(`no threshold mixes the two real models on this machine (tried ${candidates.join(", ")}; draft-path scores ${scores.join(", ")})`);
}

/** The run the tests check against; written by `node extension-tests/lib/real-pair-run.mjs`. */
export function readRealRun() {
  const file = REAL_RUN_FILE;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file} is missing or unreadable (${e.message}): run "node extension-tests/lib/real-pair-run.mjs" first`, { cause: e });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const run = measureRealRun();
  mkdirSync(dirname(REAL_RUN_FILE), { recursive: true });
  writeFileSync(REAL_RUN_FILE, JSON.stringify(run, null, 2) + "\n");
  const steps = run.steps.map((s) => `${s.model} ${JSON.stringify(s.text)}`).join(" | ");
  console.log(`real pair run: threshold ${run.settings.threshold}, answer ${run.answer} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${steps}`);
}
