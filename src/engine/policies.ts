import type { CandidateStep } from "./step.js";
import type { ModelRole, ResolvedReasonOptions } from "./types.js";

/**
 * The per-step decision of each policy. The engine's loop is the same for all of them; this is
 * the only place where they differ. The target is asked only when the decision needs it, so the
 * savings are real (the paper's reference code generates both steps every time and simulates).
 */
export interface StepOps {
  generate(role: ModelRole, reuseFrom?: CandidateStep): Promise<CandidateStep>;
  /**
   * Judges the draft step — with the router (the probability that the target would write a
   * meaningfully better step) or the scorer (the probability that the step is correct). The
   * engine may write the next draft step meanwhile; `settle` tells it whether the step stays.
   */
  judgeDraft(judge: "router" | "scorer", draftStep: CandidateStep): Promise<number>;
  settle(draftKept: boolean): Promise<void>;
  /** Scorer (PRM) on any step, nothing speculative (oracle). */
  score(step: CandidateStep): Promise<number>;
  cancelled(): boolean;
}

export interface StepDecision {
  chosen: CandidateStep;
  /** Every candidate generated for this step (the chosen one included); the rest are discarded. */
  candidates: CandidateStep[];
  routerScore?: number;
  scorerScore?: number;
  targetScorerScore?: number;
  judgeMs: number;
}

const stopped = (step: CandidateStep, ops: StepOps) => step.endedBy === "cancelled" || ops.cancelled();

export async function decideStep(options: ResolvedReasonOptions, ops: StepOps): Promise<StepDecision> {
  const { policy, threshold } = options;
  // `speculative` is the target alone: how it writes (token-level speculation) is its session's business.
  if (policy === "draft" || policy === "target" || policy === "speculative") {
    const step = await ops.generate(policy === "draft" ? "draft" : "target");
    return { chosen: step, candidates: [step], judgeMs: 0 };
  }

  const draft = await ops.generate("draft");
  if (stopped(draft, ops)) return { chosen: draft, candidates: [draft], judgeMs: 0 };
  const judgeStarted = performance.now();

  if (policy === "arbitrage") {
    const routerScore = await ops.judgeDraft("router", draft);
    const judgeMs = performance.now() - judgeStarted;
    const kept = routerScore < threshold || ops.cancelled();
    await ops.settle(kept);
    if (kept) return { chosen: draft, candidates: [draft], routerScore, judgeMs };
    const target = await ops.generate("target", draft);
    return { chosen: target, candidates: [draft, target], routerScore, judgeMs };
  }

  if (policy === "rsd") {
    const scorerScore = await ops.judgeDraft("scorer", draft);
    const judgeMs = performance.now() - judgeStarted;
    const kept = scorerScore >= threshold || ops.cancelled();
    await ops.settle(kept);
    if (kept) return { chosen: draft, candidates: [draft], scorerScore, judgeMs };
    const target = await ops.generate("target", draft);
    return { chosen: target, candidates: [draft, target], scorerScore, judgeMs };
  }

  // oracle: both write, the scorer rates both, the target wins when it is better by more than the threshold.
  const target = await ops.generate("target", draft);
  if (stopped(target, ops)) return { chosen: target, candidates: [draft, target], judgeMs: 0 };
  // The judge's time is the two scorings alone, not the target's step written before them.
  const scoringStarted = performance.now();
  const scorerScore = await ops.score(draft);
  const targetScorerScore = await ops.score(target);
  const judgeMs = performance.now() - scoringStarted;
  const chosen = targetScorerScore - scorerScore > threshold ? target : draft;
  return { chosen, candidates: [draft, target], scorerScore, targetScorerScore, judgeMs };
}
