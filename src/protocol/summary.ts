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
  /** Target ms per generated token measured in this run, when the target mostly generated (see targetMsPerTokenOf). */
  targetMsPerToken: number | null;
  /** Estimated wall time had the target written every token (committed tokens × target ms per generated token). */
  targetOnlyMs: number | null;
  /** targetOnlyMs / wallMs, or null when no target speed is known yet. */
  speedup: number | null;
}

/** Minimum target tokens generated in a run before its speed is trusted for the estimate. */
const MIN_TARGET_TOKENS_FOR_SPEED = 8;
/** The least share of the target's evaluated tokens that it generated one by one, for its speed to count. */
const MIN_GENERATED_SHARE = 0.5;

/**
 * What the target costs per token of an answer it writes alone: its time / the tokens it
 * generated, measured only in a run where it mostly generated (a target-only run, or one without
 * prefix reuse). In an arbitrage run the target generates a few tokens and checks dozens of draft
 * tokens in one batch (prefix reuse) and reads its prompt and the draft's steps in batches, each
 * batched token costing a fraction of a generated one: time per *evaluated* token there (the old
 * estimate) came out 3-10x too cheap and the speedup 0.4x where the target alone was slower.
 * Even on a target-only run that estimate said 0.64-0.68x (recorded: test/fixtures/speedup-runs.json),
 * because it spread the prompt's time over the answer's tokens only.
 */
export function targetMsPerTokenOf(result: ReasonResult): number | null {
  const m = result.stats.meters.target;
  if (!m || m.generated < MIN_TARGET_TOKENS_FOR_SPEED || m.ms <= 0) return null;
  if (m.generated < MIN_GENERATED_SHARE * m.evaluated) return null;
  return m.ms / m.generated;
}

/**
 * @param knownTargetMsPerToken target speed from earlier runs of this pair (targetMsPerTokenOf),
 *   used when this run's target did too little generating to measure it.
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
  // Before any target-only measurement: the target's decode cost as the engine measured it (its probe or its calls).
  const msPerToken = measured ?? knownTargetMsPerToken ?? s.callCosts?.target?.decodeMs ?? null;
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

/** What the panel and chat show for the estimate: the figure, or why there is none yet. */
export function speedupText(s: RunSummary): string {
  return s.speedup === null ? "n/a until the target's speed is measured (run once with policy target)" : `${formatSpeedup(s.speedup)} (estimate)`;
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
