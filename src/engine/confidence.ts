/**
 * Model-free router for any draft/target pair: a logistic model over the draft step's own
 * token probabilities. Features (all from the probability p of each sampled token, which
 * node-llama-cpp returns without a full distribution):
 *   s̄ = mean surprisal −ln p, s_max = max surprisal, h̄ = mean binary entropy H(p) (a lower
 *   bound of the token entropy given its top probability), ℓ = ln(1 + tokens), k = ln(1 + step index).
 * score = σ(b + w·features). The defaults were fitted on oracle data of the embedded pair and are
 * a prior for other pairs (low-confidence steps are the ones worth sending to the target); the
 * threshold is what a user tunes.
 */
export interface ConfidenceWeights {
  bias: number;
  meanSurprisal: number;
  maxSurprisal: number;
  meanEntropy: number;
  length: number;
  position: number;
}

/**
 * Fitted by `node --import tsx training/fit-confidence-router.ts` (class-balanced logistic
 * regression on 6,000 oracle rows of the embedded pair): held-out ROC-AUC 0.909 on the 600-row
 * oracle fixture, against 0.917 for the trained router model.
 */
export const DEFAULT_CONFIDENCE_WEIGHTS: ConfidenceWeights = {
  bias: -18.76,
  meanSurprisal: 21.72,
  maxSurprisal: 0.96,
  meanEntropy: 11.8,
  length: 6.13,
  position: 1.97,
};
