import type { MethodChoice, ModelCost, PairCost, PairRates } from "./types.js";

/**
 * The cost model behind `policy: "auto"`: each method's time per committed token, predicted from
 * the pair's measured call costs (`PairCost`) and how the method behaves on the pair
 * (`PairRates`), and the choice of the cheapest. A method other than the target alone is chosen
 * only when it is predicted clearly faster (CHOICE_MARGIN), so a default run is never slower than
 * the target alone by the model's own error.
 */

/** A method must be predicted at most this share of the target's time per token to be chosen over it. */
export const CHOICE_MARGIN = 0.9;
/**
 * Token speculation's acceptance on a pair never measured: the lower figure measured on a real
 * same-tokenizer pair (Qwen2.5-Coder 0.5B → 1.5B, k = 8: 50% of proposals kept).
 */
export const PRIOR_ACCEPTANCE = 0.5;
/** Tokens per step on a pair never measured: a short reasoning paragraph. */
export const DEFAULT_STEP_TOKENS = 32;

/** One call of `tokens` tokens. */
export function callMs(cost: ModelCost, tokens: number): number {
  return tokens <= 0 ? 0 : cost.decodeMs + (tokens - 1) * cost.batchTokenMs;
}

/** Tokens one verification round yields: the accepted prefix of k proposals plus the target's own token. */
export function tokensPerRound(acceptance: number, k: number): number {
  const a = Math.min(Math.max(acceptance, 0), 0.999);
  return (1 - a ** (k + 1)) / (1 - a);
}

/**
 * Token-level speculation: the draft proposes k tokens one by one, the target checks them in one
 * batch. A proposal stops at the step's end, so a step of L tokens takes about L / yield rounds
 * plus a part-filled last one.
 */
export function speculativeMsPerToken(cost: PairCost, acceptance: number, k: number, stepTokens: number): number {
  const yielded = tokensPerRound(acceptance, k);
  // The draft reads the kept tokens back in its next proposal call (a batch).
  const round = k * cost.draft.decodeMs + (yielded - 1) * cost.draft.batchTokenMs + callMs(cost.target, k + 1);
  const L = Math.max(1, stepTokens);
  const rounds = Math.max(1, L / yielded + 0.5);
  return (rounds * round) / L;
}

/**
 * Step routing: the draft writes every step and the router reads it. The target reads kept steps
 * lazily, all of them in the one batch before it next writes (a run of kept steps costs their
 * tokens at the batch rate); a rejected step is written by the target after that batch's first
 * token — the share it takes over from the rejected draft step (prefix reuse) checked in a batch,
 * the rest token by token — and read back by the draft.
 */
export function routedMsPerToken(cost: PairCost, keepShare: number, stepTokens: number, routerMs: number, reuseShare = 0): number {
  const L = Math.max(1, stepTokens);
  const kept = L * cost.target.batchTokenMs;
  const reused = reuseShare * L;
  const rejected = cost.target.decodeMs + reused * cost.target.batchTokenMs + (L - reused) * cost.target.decodeMs + callMs(cost.draft, L);
  return (L * cost.draft.decodeMs + routerMs + keepShare * kept + (1 - keepShare) * rejected) / L;
}

export interface ChoiceInputs {
  cost: PairCost;
  /** How routing and speculation behaved on this pair (null: never measured). */
  rates: PairRates | null;
  /** Token speculation can run (shared tokenizer, local models, greedy), or why not. */
  speculation: true | string;
  /** The router is fitted to this pair (shipped or calibrated), or why routing is not considered. */
  routing: true | string;
  /** The request's routing threshold (the keep share is read at the nearest measured one). */
  threshold: number;
  draftTokens: number;
}

const ratio = (x: number, base: number) => `${(x / base).toFixed(2)}×`;

export function chooseMethod(inputs: ChoiceInputs): MethodChoice {
  const { cost, rates, threshold, draftTokens } = inputs;
  const target = cost.target.decodeMs;
  const predicted: MethodChoice["predictedMsPerToken"] = { target };
  const why: string[] = [];
  let bestK = draftTokens;

  if (inputs.speculation === true) {
    const acceptance = rates?.acceptance ?? PRIOR_ACCEPTANCE;
    // The best round size up to the request's: at low acceptance long proposals are mostly thrown away.
    for (let k = 1; k <= draftTokens; k++) {
      const ms = speculativeMsPerToken(cost, acceptance, k, rates?.stepTokens ?? DEFAULT_STEP_TOKENS);
      if (predicted.speculative === undefined || ms < predicted.speculative) {
        predicted.speculative = ms;
        bestK = k;
      }
    }
    why.push(
      `token speculation ${ratio(predicted.speculative!, target)} (k=${bestK}, ${Math.round(acceptance * 100)}% accepted${rates?.acceptance == null ? ", assumed" : ""})`,
    );
  } else {
    why.push(`no token speculation (${inputs.speculation})`);
  }

  const keepShare = rates?.keepShare ?? null;
  if (inputs.routing !== true) {
    why.push(`no routing (${inputs.routing})`);
  } else if (keepShare === null) {
    why.push("no routing (the router's keep share was never measured on this pair: run `arbitrage bench`)");
  } else {
    const routerMs = cost.routerMs ?? 2 * cost.draft.decodeMs;
    predicted.arbitrage = routedMsPerToken(cost, keepShare, rates!.stepTokens, routerMs, rates!.reuseShare ?? 0);
    // The threshold trades accuracy against speed; whether routing pays on this machine is read at the measured point.
    const at = rates!.keepThreshold === threshold ? `at ${threshold}` : `at ${rates!.keepThreshold}, the measured threshold`;
    why.push(`routing ${ratio(predicted.arbitrage, target)} (${Math.round(keepShare * 100)}% of steps kept ${at})`);
  }

  // The cheapest method, if it is clearly cheaper than the target alone.
  const candidates = (["speculative", "arbitrage"] as const).filter((m) => predicted[m] !== undefined && predicted[m] < target * CHOICE_MARGIN);
  const policy: MethodChoice["policy"] = candidates.sort((a, b) => predicted[a]! - predicted[b]!)[0] ?? "target";
  const costs = `the draft costs ${Math.round((cost.draft.decodeMs / target) * 100)}% of the target per decoded token here (${cost.draft.decodeMs.toFixed(1)} vs ${target.toFixed(1)} ms, ${cost.source === "probe" ? "probed at load" : "measured over earlier requests"})`;
  const chosen = policy === "target" ? "the target alone" : policy === "speculative" ? "token-level speculation" : "step routing (arbitrage)";
  const reason = `auto chose ${chosen}: ${costs}; predicted per token against the target alone: ${why.join("; ")}.`;
  return { policy, draftTokens: bestK, reason, predictedMsPerToken: predicted, cost };
}
