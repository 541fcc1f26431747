/**
 * Fits the default weights of the model-free confidence router (src/engine/judges.ts) on the
 * embedded pair's oracle data, the same (context, draft step, label) rows the trained router
 * learns from (training/build_oracle.py). For each row the draft step's per-token probabilities
 * are read from the real draft GGUF through node-llama-cpp in one batch, turned into the
 * router's features, and a class-balanced logistic regression is fitted (Newton's method).
 *
 * usage: node --import tsx training/fit-confidence-router.ts [train.jsonl] [heldout.jsonl]
 * Prints the weights (paste into DEFAULT_CONFIDENCE_WEIGHTS) and held-out ROC-AUC / accuracy.
 */
import { readFileSync } from "node:fs";
import { getLlama, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { asWeights, featureVector, fitLogistic as fit, logisticScore, rocAuc as auc } from "../src/engine/calibration/logistic.js";
import { embeddedModelPath } from "../src/engine/paths.js";
import { withBos } from "../src/engine/prompt.js";

interface Row {
  context: string;
  draft_step: string;
  router_label: number;
}

function readRows(path: string, limit: number): Row[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .slice(0, limit)
    .map((l) => JSON.parse(l) as Row);
}

async function featuresOf(model: LlamaModel, seq: LlamaContextSequence, row: Row): Promise<number[]> {
  await seq.clearHistory();
  const context = withBos(model, model.tokenize(row.context, false, "trimLeadingSpace"));
  const step = model.tokenize(`${row.draft_step}\n\n`, false, "trimLeadingSpace");
  const ask = { generateNext: { confidence: true, token: true, options: { temperature: 0 } } } as const;
  const input = [...context.slice(0, -1), [context.at(-1)!, ask] as const, ...step.slice(0, -1).map((t) => [t, ask] as const)];
  const out = await seq.controlledEvaluate(input as Parameters<LlamaContextSequence["controlledEvaluate"]>[0]);
  const confidences: number[] = [];
  for (let i = context.length - 1; i < input.length; i++) confidences.push(out[i]?.next.confidence ?? 1);
  const stepIndex = row.context.split("\n\n").length - 2; // "Q: ..." then one block per committed step
  return featureVector(confidences, stepIndex);
}

const [trainPath = "training/.cache/oracle-train.jsonl", heldoutPath = "test/fixtures/models/oracle-heldout.jsonl"] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
const model = await llama.loadModel({ modelPath: embeddedModelPath("draft") });
const context = await model.createContext({
  contextSize: 256,
  threads: 1,
  flashAttention: false,
  experimentalKvCacheKeyType: "F32",
  experimentalKvCacheValueType: "F32",
});
const seq = context.getSequence();
const load = async (path: string, limit: number) => {
  const rows = readRows(path, limit);
  const x: number[][] = [];
  for (const r of rows) x.push(await featuresOf(model, seq, r));
  return { x, y: rows.map((r) => (r.router_label ? 1 : 0)) };
};
const train = await load(trainPath, 6000);
const held = await load(heldoutPath, 2000);
const w = fit(train.x, train.y);
const weights = asWeights(w);
const score = (xi: number[]) => logisticScore(weights, xi);
const heldScores = held.x.map(score);
const accuracy = heldScores.filter((s, i) => (s >= 0.5 ? 1 : 0) === held.y[i]).length / held.y.length;
console.log(
  JSON.stringify(
    {
      trainRows: train.y.length,
      heldoutRows: held.y.length,
      positiveShare: train.y.filter(Boolean).length / train.y.length,
      weights,
      heldoutAuc: auc(heldScores, held.y),
      heldoutAccuracy: accuracy,
    },
    null,
    2,
  ),
);
await model.dispose();
