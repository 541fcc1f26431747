/**
 * Router/scorer score vs threshold as text, for the panel and the chat (pure: no DOM, no vscode).
 * Two decimals are enough on the embedded pair, but the confidence router's scores on real models
 * sit at 0.999… (measured on SmolLM2-135M → Gemma 3 270M), where "1.00 ≥ 1.00" would hide the
 * decision. So: the threshold with its own decimals (at least 2, at most 8), and the score with as
 * many decimals as it takes to tell it from the threshold (0.99969 vs 0.999 → "0.9996 ≥ 0.999").
 * The score is truncated, not rounded, so 0.99969 never reads as 1.000 and the order shown is the
 * true order.
 */
const MAX_DECIMALS = 8;

function truncated(x: number, d: number): string {
  const f = 10 ** d;
  return (Math.floor(x * f + 1e-9) / f).toFixed(d);
}

function ownDecimals(x: number): number {
  for (let d = 2; d < MAX_DECIMALS; d++) if (Math.abs(Number(x.toFixed(d)) - x) < 1e-12) return d;
  return MAX_DECIMALS;
}

/** The threshold as the user set it: 0.3 → "0.30", 0.999 → "0.999". */
export function formatThreshold(threshold: number): string {
  return threshold.toFixed(ownDecimals(threshold));
}

export interface ScoreText {
  score: string;
  threshold: string;
  /** "≥": the target was asked (or, for a scorer, the draft kept); "<" otherwise. */
  cmp: "≥" | "<";
}

export function formatScore(score: number, threshold: number): ScoreText {
  const cmp = score >= threshold ? "≥" : "<";
  const own = ownDecimals(threshold);
  let d = own;
  while (d < MAX_DECIMALS && score !== threshold && truncated(score, d) === truncated(threshold, d)) d++;
  return { score: truncated(score, d), threshold: threshold.toFixed(own), cmp };
}

/** The panel slider's step for a threshold: 0.01, or finer for a threshold like 0.999. */
export function thresholdStep(threshold: number): string {
  return (10 ** -ownDecimals(threshold)).toFixed(ownDecimals(threshold));
}
