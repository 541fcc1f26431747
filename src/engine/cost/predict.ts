import type { ModelRole } from "../types.js";

/** Per-token call costs of each generating model (ms): as `RunStats.callCosts` reports them. */
export type CallCosts = Partial<Record<ModelRole, { decodeMs: number; batchTokenMs: number }>>;

/** What a run did, in the counts the cost model needs: each model's sampled and evaluated tokens, and the judges' time. */
export interface RunCounts {
  meters: Record<ModelRole, { generated: number; evaluated: number }>;
  judgeMs: number;
}

/**
 * A run's time predicted from its token counts: every sampled token was one call's output (a
 * decode, or the model's own token after a batch check), every other evaluated token a further
 * token of a batch. Null when a model that worked has no cost.
 */
export function predictRunMs(run: RunCounts, costs: CallCosts): number | null {
  let ms = run.judgeMs;
  for (const role of ["draft", "target"] as const) {
    const m = run.meters[role];
    if (m.evaluated === 0 && m.generated === 0) continue;
    const c = costs[role];
    if (!c) return null;
    ms += m.generated * c.decodeMs + Math.max(0, m.evaluated - m.generated) * c.batchTokenMs;
  }
  return ms;
}

/**
 * Another machine's costs, as a projection of this one's: the target `ratio` times as dear as the
 * draft per decoded token, and a batch's further token `batchShare` of a decode for both (on a GPU
 * a batch costs little more than one token). The draft and the judges keep their measured time.
 */
export function projectedCosts(measured: CallCosts, ratio: number, batchShare: number): CallCosts | null {
  const draft = measured.draft;
  if (!draft) return null;
  return {
    draft: { decodeMs: draft.decodeMs, batchTokenMs: draft.decodeMs * batchShare },
    target: { decodeMs: draft.decodeMs * ratio, batchTokenMs: draft.decodeMs * ratio * batchShare },
  };
}

/** The paper's setting (Qwen2.5 1.5B -> 7B class on a GPU): a target 4.5x its draft per token, prefill a twentieth of decoding. */
export const PAPER_PROJECTION = { ratio: 4.5, batchShare: 0.05 } as const;
