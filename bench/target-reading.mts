/**
 * A judge that reads the draft step with the target's own weights, measured against the shipped
 * router on the held-out oracle rows (test/fixtures/models/oracle-heldout.jsonl: context, draft
 * step, the router's label = the target's step is better, and the PyTorch scores of the router and
 * the PRM recorded when the fixture was made).
 *
 * For every row, side by side in one process (1 thread each, interleaved row by row):
 * - the target reads the draft step in one batch and gives each of its tokens' log-probability;
 *   the judge's score is the step's largest surprisal (−ln p of its least likely token);
 * - the shipped router (models/router.gguf, its plain score: the fixture has no draft
 *   confidences) classifies the same (context, step);
 * - the draft writes its step from the same context (what a judge call is compared with).
 * It prints each score's ROC-AUC against the router's label and each call's mean time. This is the
 * evidence for issue 14's oracle gap: how well and at what cost a judge that can recompute the
 * step would route on this pair.
 *
 * usage: node --import tsx bench/target-reading.mts [--rows test/fixtures/models/oracle-heldout.jsonl] [--threads 1]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Token } from "node-llama-cpp";
import { rocAuc } from "../src/engine/calibration/logistic.js";
import { ClassifierSession, classifierSpecFromMetadata } from "../src/engine/classifier-session.js";
import { defaultModelConfig } from "../src/engine/options.js";
import { embeddedModelPath, embeddedModelsDir } from "../src/engine/paths.js";
import { loadBackend } from "../src/engine/runtime.js";
import { openModel, TargetReader, tokensOf } from "./target-reader.mjs";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "test/fixtures/models/oracle-heldout.jsonl" },
    threads: { type: "string", default: "1" },
  },
});

interface Row {
  context: string;
  draft_step: string;
  router_label: number;
  router_p: number;
  prm_p_draft: number;
}
const rows: Row[] = readFileSync(values.rows, "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as Row);

const config = { ...defaultModelConfig(), threads: Number(values.threads) };
const { llama } = await loadBackend("cpu", config.threads);
// The reader gets the cheaper batch settings (F16 KV cache, flash attention) rather than the
// generators' exact F32 ones: only its ranking matters, not exact logits.
const reader = new TargetReader(await openModel(llama, config, embeddedModelPath("target"), "target", "classify", true));
const draft = await openModel(llama, config, embeddedModelPath("draft"), "draft", "generate");
const routerPath = `${embeddedModelsDir()}/router.gguf`;
const routerFile = await openModel(llama, config, routerPath, "router", "classify");
const router = new ClassifierSession(routerFile.model, routerFile.sequence, classifierSpecFromMetadata(routerFile.check.arbitrage, routerPath));

/** Every step ends at the blank line, but the final answer line, which ends at end-of-sequence (read up to its last character). */
const stepText = (r: Row) => (r.draft_step.startsWith("A:") ? r.draft_step : `${r.draft_step}\n\n`);

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/** The draft writes its step greedily from the context (to the blank line or the end), as the engine's draft does. */
async function draftStep(contextText: string): Promise<{ ms: number; tokens: number }> {
  const context = tokensOf(draft.model, contextText, true);
  await draft.sequence.clearHistory();
  await draft.sequence.evaluateWithoutGeneratingNewTokens(context.slice(0, -1));
  const started = performance.now();
  const text: Token[] = [];
  for await (const t of draft.sequence.evaluate([context.at(-1)!], { temperature: 0 })) {
    text.push(t);
    if (draft.model.detokenize(text).endsWith("\n\n") || text.length >= 32) break;
  }
  return { ms: performance.now() - started, tokens: text.length };
}

const scores = { reading: [] as number[], router: [] as number[], routerRecorded: [] as number[], prm: [] as number[] };
const ms = { reading: 0, router: 0, draft: 0 };
let stepTokens = 0;
let draftTokens = 0;
for (const r of rows) {
  stepTokens += tokensOf(reader.target.model, stepText(r)).length;
  await reader.prepare(r.context);
  const reading = await timed(() => reader.read(stepText(r)));

  await router.reset(tokensOf(routerFile.model, r.context, true));
  await router.classify("\n\n", "\n\n"); // evaluates the context alone, untimed: the engine's router keeps it between steps
  const routed = await timed(() => router.classify(stepText(r), "\n\n"));

  const drafted = await draftStep(r.context);
  draftTokens += drafted.tokens;

  scores.reading.push(reading.value.maxSurprisal);
  scores.router.push(routed.value);
  scores.routerRecorded.push(r.router_p);
  scores.prm.push(1 - r.prm_p_draft);
  ms.reading += reading.ms;
  ms.router += routed.ms;
  ms.draft += drafted.ms;
}

const labels = rows.map((r) => r.router_label);
const n = rows.length;
const per = (x: number) => (x / n).toFixed(2);
const auc = (score: number[]) => rocAuc(score, labels)!.toFixed(4);
console.log(`${values.rows}: ${n} rows, ${labels.filter((l) => l === 1).length} with a target advantage`);
console.log("ROC-AUC against the router's label:");
console.log(`  target reads the step (largest surprisal)      ${auc(scores.reading)}`);
console.log(`  shipped router, plain score (this run)         ${auc(scores.router)}`);
console.log(`  shipped router, plain score (PyTorch, fixture) ${auc(scores.routerRecorded)}`);
console.log(`  learned PRM, 1 − p(draft step) (PyTorch)       ${auc(scores.prm)}`);
console.log(`mean ms per step, threads ${config.threads}, side by side:`);
console.log(`  draft writes its step (${(draftTokens / n).toFixed(1)} tokens)      ${per(ms.draft)}`);
console.log(`  router call                              ${per(ms.router)}  (${((100 * ms.router) / ms.draft).toFixed(0)}% of a draft step)`);
console.log(
  `  target reads the step (${(stepTokens / n).toFixed(1)} tokens, one batch) ${per(ms.reading)}  (${((100 * ms.reading) / ms.draft).toFixed(0)}% of a draft step)`,
);
process.exit(0);
