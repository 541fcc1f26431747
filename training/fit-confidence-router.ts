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
import { getLlama } from "node-llama-cpp";
import { asWeights, fitLogistic as fit, logisticScore, rocAuc as auc } from "../src/engine/calibration/logistic.js";
import { embeddedModelPath } from "../src/engine/paths.js";
import { draftFeatures, EXACT_CONTEXT, readRows } from "./oracle-rows.js";

const [trainPath = "training/.cache/oracle-train.jsonl", heldoutPath = "test/fixtures/models/oracle-heldout.jsonl"] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
const model = await llama.loadModel({ modelPath: embeddedModelPath("draft") });
const context = await model.createContext(EXACT_CONTEXT);
const seq = context.getSequence();
const load = async (path: string, limit: number) => {
  const rows = readRows(path, limit);
  const x: number[][] = [];
  for (const r of rows) x.push(await draftFeatures(model, seq, r));
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
