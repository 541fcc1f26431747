import type { ConfidenceWeights } from "../confidence.js";

/**
 * The confidence router's model: a class-balanced logistic regression over the draft step's own
 * token-probability features. One implementation serves `arbitrage calibrate` (the user's pair)
 * and training/fit-confidence-router.ts (the shipped defaults, on the embedded pair's oracle data).
 */

export function confidenceFeatures(confidences: readonly number[], stepIndex: number) {
  const ps = confidences.length > 0 ? confidences.map((p) => Math.min(1, Math.max(1e-9, p))) : [1];
  const surprisal = ps.map((p) => -Math.log(p));
  const entropy = ps.map((p) => (p >= 1 ? 0 : -(p * Math.log(p) + (1 - p) * Math.log(1 - p))));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    meanSurprisal: mean(surprisal),
    maxSurprisal: Math.max(...surprisal),
    meanEntropy: mean(entropy),
    length: Math.log(1 + confidences.length),
    position: Math.log(1 + stepIndex),
  };
}

export const CONFIDENCE_FEATURES = ["meanSurprisal", "maxSurprisal", "meanEntropy", "length", "position"] as const;

/** The router's feature vector for a draft step (its token probabilities) at step `stepIndex`. */
export function featureVector(confidences: readonly number[], stepIndex: number): number[] {
  const f = confidenceFeatures(confidences, stepIndex);
  return CONFIDENCE_FEATURES.map((k) => f[k]);
}

/** Class-balanced logistic regression by Newton's method with a small ridge term (no penalty on the bias). */
export function fitLogistic(x: readonly number[][], y: readonly number[], ridge = 1e-2, iterations = 25): number[] {
  const d = x[0]!.length + 1;
  const w = new Array<number>(d).fill(0);
  const pos = y.filter((v) => v === 1).length;
  const weight = (v: number) => (v === 1 ? y.length / (2 * pos) : y.length / (2 * (y.length - pos)));
  for (let iter = 0; iter < iterations; iter++) {
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
      g[j]! += ridge * w[j]!;
      h[j]![j]! += ridge;
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

/** The fitted vector [bias, ...features] as the router's named weights. */
export function asWeights(w: readonly number[]): ConfidenceWeights {
  return { bias: w[0]!, ...Object.fromEntries(CONFIDENCE_FEATURES.map((k, i) => [k, w[i + 1]!])) } as ConfidenceWeights;
}

export function logisticScore(weights: ConfidenceWeights, features: readonly number[]): number {
  const z = CONFIDENCE_FEATURES.reduce((a, k, i) => a + weights[k] * features[i]!, weights.bias);
  return 1 / (1 + Math.exp(-z));
}

/** ROC-AUC by the rank-sum statistic (ties share their mean rank); null when one class is missing. */
export function rocAuc(scores: readonly number[], y: readonly number[]): number | null {
  const pos = y.filter((v) => v === 1).length;
  const neg = y.length - pos;
  if (pos === 0 || neg === 0) return null;
  const order = scores.map((s, i) => [s, y[i]!] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j]![0] === order[i]![0]) j++;
    const meanRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (order[k]![1] === 1) rankSum += meanRank;
    i = j;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
