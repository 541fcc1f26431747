import type { GeneratingSession } from "./generator.js";
import type { TokenSpeculation } from "./step.js";
import type { ModelRole, ResolvedReasonOptions } from "./types.js";

/**
 * Whether a request's target steps are written with token-level speculative decoding (the
 * policy `speculative`, or `tokenSpeculation` with target, arbitrage or rsd), and with what. The
 * draft's proposals overwrite its open candidate, so they are made only where the target writes
 * a step the draft's own candidate lost (arbitrage, rsd) or never had: not for the oracle, which
 * keeps both candidates open until it compares them. Where the pair cannot do it the target writes its steps alone — the same text, only
 * slower — and the request carries a notice (not a warning against the answer) saying why, so nobody reads the timing as
 * speculation's.
 */
export interface TokenSpeculationPlan {
  speculation: TokenSpeculation | null;
  notice: string | null;
  /** Why the pair cannot speculate (null where it can, or where the request did not ask). */
  whyNot: string | null;
}

export function planTokenSpeculation(
  options: ResolvedReasonOptions,
  sessions: Record<ModelRole, GeneratingSession>,
  sameTokenizer: boolean,
): TokenSpeculationPlan {
  const wanted = options.policy === "speculative" || (options.tokenSpeculation && options.policy !== "draft");
  if (!wanted) return { speculation: null, notice: null, whyNot: null };
  if (options.policy === "oracle") {
    return {
      speculation: null,
      whyNot: "the oracle keeps the draft's step open until both are scored",
      notice:
        "Token-level speculation is off for the oracle: it keeps the draft's step open until both are scored, and the draft's proposals would overwrite it.",
    };
  }
  const proposer = sessions.draft.proposer;
  const why = !sameTokenizer
    ? "the draft and target tokenizers differ, so the target cannot check the draft's tokens"
    : options.temperature > 0
      ? "it is exact only for greedy decoding (temperature 0)"
      : !sessions.target.verifiesInBatch
        ? "the target runs on a server, whose API does not return the logits at every position that a batch check needs"
        : !proposer
          ? "the draft runs on a server, which cannot propose tokens one round at a time"
          : null;
  if (why !== null) {
    return {
      speculation: null,
      whyNot: why,
      notice: `Token-level speculation is off for this request: ${why}. The target writes its steps alone (the same text, without the speedup).`,
    };
  }
  return { speculation: { proposer: proposer!, maxTokens: options.draftTokens }, notice: null, whyNot: null };
}
