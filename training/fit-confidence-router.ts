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
import { confidenceFeatures } from "../src/engine/judges.js";
import { embeddedModelPath } from "../src/engine/paths.js";
import { withBos } from "../src/engine/prompt.js";

interface Row {
  context: string;
  draft_step: string;
  router_label: number;
}

const FEATURES = ["meanSurprisal", "maxSurprisal", "meanEntropy", "length", "position"] as const;

function readRows(path: string, limit: number): Row[] {
  return readFileSync(path, "utf8").split("\n").filter(Boolean).slice(0, limit).map((l) => JSON.parse(l) as Row);
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
  const f = confidenceFeatures(confidences, stepIndex);
  return FEATURES.map((k) => f[k]);
}

/** Class-balanced logistic regression by Newton's method with a small ridge term. */
function fit(x: number[][], y: number[]): number[] {
  const d = x[0]!.length + 1;
  const w = new Array<number>(d).fill(0);
  const pos = y.filter((v) => v === 1).length;
  const weight = (v: number) => (v === 1 ? y.length / (2 * pos) : y.length / (2 * (y.length - pos)));
  for (let iter = 0; iter < 25; iter++) {
    const g = new Array<number>(d).fill(0);
    const h = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    x.forEach((xi, n) => {
      const v = [1, ...xi];
      const p = 1 / (1 + Math.exp(-v.reduce((a, b, j) => a + b * w[j]!, 0)));
      const c = weight(y[n]!);
      for (let j = 0; j < d; j++) {
        g[j]! += c * (p - y[n]!) * v[j]!;
        for (let k = 0; k < d; k++) h[j]![k]! += c * p * (1 - p) * v[j]! * v[k]!;
      }
    });
    for (let j = 1; j < d; j++) {
      g[j]! += 1e-2 * w[j]!;
      h[j]![j]! += 1e-2;
    }
    const step = solve(h, g);
    for (let j = 0; j < d; j++) w[j]! -= step[j]!;
  }
  return w;
}

function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

function auc(scores: number[], y: number[]): number {
  const order = scores.map((s, i) => [s, y[i]!] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  order.forEach(([, label], i) => (rankSum += label === 1 ? i + 1 : 0));
  const pos = y.filter((v) => v === 1).length;
  const neg = y.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

const [trainPath = "training/.cache/oracle-train.jsonl", heldoutPath = "test/fixtures/models/oracle-heldout.jsonl"] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
const model = await llama.loadModel({ modelPath: embeddedModelPath("draft") });
const context = await model.createContext({ contextSize: 256, threads: 1, flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
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
const score = (xi: number[]) => 1 / (1 + Math.exp(-[1, ...xi].reduce((a, b, j) => a + b * w[j]!, 0)));
const heldScores = held.x.map(score);
const accuracy = heldScores.filter((s, i) => (s >= 0.5 ? 1 : 0) === held.y[i]).length / held.y.length;
const weights = { bias: w[0]!, ...Object.fromEntries(FEATURES.map((k, i) => [k, w[i + 1]!])) };
console.log(JSON.stringify({ trainRows: train.y.length, heldoutRows: held.y.length, positiveShare: train.y.filter(Boolean).length / train.y.length, weights, heldoutAuc: auc(heldScores, held.y), heldoutAccuracy: accuracy }, null, 2));
await model.dispose();
