/**
 * Pure run-summary arithmetic shared by the webview, the status bar and the chat participant.
 * No `vscode` import: the webview bundle includes this file.
 */
import type { ReasonResult } from "../engine/types.js";

export interface RunSummary {
  steps: number;
  draftSteps: number;
  targetSteps: number;
  /** Share of steps written by the draft, 0..1 (NaN-free: 0 when there are no steps). */
  draftShare: number;
  targetShare: number;
  tokens: number;
  draftTokens: number;
  targetTokens: number;
  wallMs: number;
  tokensPerSecond: number;
  /** Target ms per processed token measured in this run, when the target processed enough tokens. */
  targetMsPerToken: number | null;
  /** Estimated wall time had the target written every token (committed tokens × target ms/token). */
  targetOnlyMs: number | null;
  /** targetOnlyMs / wallMs, or null when no target speed is known yet. */
  speedup: number | null;
}

/** Minimum target tokens in a run before its speed is trusted for the estimate. */
const MIN_TARGET_TOKENS_FOR_SPEED = 8;

/**
 * Target time per token processed in this run (generation, verification and prefill together).
 * Batched verification/prefill is cheaper per token than generation, so this under-estimates the
 * target-only cost and the speedup estimate errs low (conservative).
 */
export function targetMsPerTokenOf(result: ReasonResult): number | null {
  const m = result.stats.meters.target;
  const tokens = m ? Math.max(m.evaluated, m.generated) : 0;
  if (!m || tokens < MIN_TARGET_TOKENS_FOR_SPEED || m.ms <= 0) return null;
  return m.ms / tokens;
}

/**
 * @param knownTargetMsPerToken target speed from earlier runs, used when this run gave the target
 *   too few tokens to measure it.
 */
export function summarize(result: ReasonResult, knownTargetMsPerToken: number | null = null): RunSummary {
  const s = result.stats;
  const draftSteps = s.stepsByModel.draft ?? 0;
  const targetSteps = s.stepsByModel.target ?? 0;
  const steps = s.steps;
  const draftTokens = s.tokensByModel.draft ?? 0;
  const targetTokens = s.tokensByModel.target ?? 0;
  const tokens = draftTokens + targetTokens;
  const wallMs = Math.max(s.wallMs, 0);
  const measured = targetMsPerTokenOf(result);
  const msPerToken = measured ?? knownTargetMsPerToken;
  const targetOnlyMs = msPerToken !== null && tokens > 0 ? tokens * msPerToken : null;
  return {
    steps,
    draftSteps,
    targetSteps,
    draftShare: steps > 0 ? draftSteps / steps : 0,
    targetShare: steps > 0 ? targetSteps / steps : 0,
    tokens,
    draftTokens,
    targetTokens,
    wallMs,
    tokensPerSecond: wallMs > 0 ? (tokens * 1000) / wallMs : 0,
    targetMsPerToken: measured,
    targetOnlyMs,
    speedup: targetOnlyMs !== null && wallMs > 0 ? targetOnlyMs / wallMs : null,
  };
}

export function formatSpeedup(x: number | null): string {
  return x === null ? "n/a" : `${x.toFixed(x >= 10 ? 0 : 1)}×`;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function percent(x: number): string {
  return `${Math.round(x * 100)}%`;
}
