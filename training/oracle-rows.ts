/**
 * The embedded pair's oracle rollout rows (training/build_oracle.py) as the TypeScript fitting
 * scripts read them, and the draft step's confidence features read through the real draft GGUF:
 * the same features, from the same node-llama-cpp confidences, that the engine computes for a
 * step the draft writes (src/engine/calibration/logistic.ts). Shared by fit-confidence-router.ts
 * and fit-router-mix.ts.
 */
import { readFileSync } from "node:fs";
import type { LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import { featureVector } from "../src/engine/calibration/logistic.js";
import { withBos } from "../src/engine/prompt.js";

export interface OracleRow {
  problem: string;
  context: string;
  draft_step: string;
  router_label: number;
  /** The exact checker's score of the draft step (1 = correct): the PRM's label. */
  draft_score: number;
}

export function readRows(path: string, limit = Infinity): OracleRow[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .slice(0, limit)
    .map((l) => JSON.parse(l) as OracleRow);
}

/** The row's step index as the engine counts it: "Q: ..." then one block per committed step. */
export const stepIndexOf = (row: OracleRow) => row.context.split("\n\n").length - 2;

/** The draft's probability of each token of its step + "\n\n", in one batch, as the confidence features. */
export async function draftFeatures(model: LlamaModel, seq: LlamaContextSequence, row: OracleRow): Promise<number[]> {
  await seq.clearHistory();
  const context = withBos(model, model.tokenize(row.context, false, "trimLeadingSpace"));
  const step = model.tokenize(`${row.draft_step}\n\n`, false, "trimLeadingSpace");
  const ask = { generateNext: { confidence: true, token: true, options: { temperature: 0 } } } as const;
  const input = [...context.slice(0, -1), [context.at(-1)!, ask] as const, ...step.slice(0, -1).map((t) => [t, ask] as const)];
  const out = await seq.controlledEvaluate(input as Parameters<LlamaContextSequence["controlledEvaluate"]>[0]);
  const confidences: number[] = [];
  for (let i = context.length - 1; i < input.length; i++) confidences.push(out[i]?.next.confidence ?? 1);
  return featureVector(confidences, stepIndexOf(row));
}

/** The exact settings the engine gives the embedded models (src/engine/runtime.ts contextOptions). */
export const EXACT_CONTEXT = {
  contextSize: 256,
  threads: 1,
  flashAttention: false,
  experimentalKvCacheKeyType: "F32",
  experimentalKvCacheValueType: "F32",
} as const;
