/** The status bar item's text and tooltip (pure: the Controller sets them on the item). */
import type { GpuReport, ReasonResult } from "../engine/types.js";
import { gpuDetails } from "../protocol/gpu-text.js";
import { formatSpeedup, summarize } from "../protocol/summary.js";
import type { SettingsProblem } from "./setting-keys.js";

export interface StatusBarInput {
  pair: string;
  /** What runs now ("loading…", "step 3"), if anything. */
  running: string | undefined;
  lastResult: ReasonResult | null;
  knownTargetMsPerToken: number | null;
  problems: readonly SettingsProblem[];
  gpu: GpuReport | null;
}

export function statusBarView(s: StatusBarInput): { text: string; tooltip: string } {
  const shortPair = s.pair === "embedded demo pair" ? "demo pair" : s.pair;
  let text: string;
  if (s.running) {
    text = `$(sync~spin) Arbitrage: ${s.running}`;
  } else if (s.lastResult) {
    const sum = summarize(s.lastResult, s.knownTargetMsPerToken);
    // The speedup only once the target's speed is known for this pair (summary.ts); never a placeholder.
    text = `$(zap) ${shortPair} · ${sum.tokensPerSecond.toFixed(0)} tok/s${sum.speedup === null ? "" : ` · ~${formatSpeedup(sum.speedup)} vs target`}`;
  } else {
    text = `$(zap) Arbitrage: ${shortPair}`;
  }
  const problems = s.problems.map((p) => `\n⚠ ${p.setting}: ${p.message}`).join("");
  const gpu = s.gpu ?? s.lastResult?.stats.gpu;
  const tooltip = `Arbitrage — ${s.pair}${s.lastResult ? ` — last run: ${s.lastResult.steps.length} steps` : ""}${problems}${gpu ? `\n${gpuDetails(gpu)}` : ""}\nClick to open the panel.`;
  return { text, tooltip };
}
