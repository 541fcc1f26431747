import type { Policy } from "../types.js";

/**
 * What one llama.cpp call costs a model on this machine and backend. A call that evaluates n
 * tokens costs about `decodeMs + (n − 1) · batchTokenMs`: the first token pays for reading the
 * weights (decoding is memory-bound), each further token of the same batch only its arithmetic.
 * Prefill, catch-up after the other model's step and batch verification are all such calls.
 */
export interface ModelCost {
  /** One token evaluated alone and its next token sampled (ms). */
  decodeMs: number;
  /** Each further token of a batch (ms). */
  batchTokenMs: number;
  /** How many calls the figures come from (a probe's few, or many from real runs). */
  decodeCalls: number;
  batchTokens: number;
}

/** The pair's costs on this machine: each generating model's, and the router's per call when known. */
export interface PairCost {
  draft: ModelCost;
  target: ModelCost;
  /** One router call (ms); null until a router has run here. */
  routerMs: number | null;
  /** "probe": measured at load with a short batch and a few decoded tokens; "runs": from requests' own calls. */
  source: "probe" | "runs";
}

/**
 * How a method behaved on this pair, measured by the bench or by earlier requests: the share of
 * steps the router kept with the draft at its threshold, and the share of fresh draft proposals
 * the target accepted under token-level speculation. Null where never measured.
 */
export interface PairRates {
  keepShare: number | null;
  /** The threshold keepShare was measured at. */
  keepThreshold: number | null;
  acceptance: number | null;
  /** Share of the target's rewritten tokens taken over from the rejected draft step (prefix reuse); null: never measured. */
  reuseShare: number | null;
  /** Mean tokens per committed step (catch-up batches are this long). */
  stepTokens: number;
  /** Where the figures come from, in words. */
  source: string;
}

/** The policy `auto` chose for a request, and why (shown in the panel header, `stats` and the CLI summary). */
export interface MethodChoice {
  policy: Policy;
  /** Draft tokens per verification round where token speculation was chosen (the best k up to the request's). */
  draftTokens: number;
  /** One sentence: what was chosen, and the predicted cost against the target alone. */
  reason: string;
  /** Predicted ms per committed token of each method considered (Infinity where it cannot run here). */
  predictedMsPerToken: Partial<Record<"target" | "speculative" | "arbitrage", number>>;
  /** The costs it was predicted from (null: not measurable here, e.g. a model on a server). */
  cost: PairCost | null;
}
