import { styleText } from "node:util";
import { ArbitrageEngine, validateQuestion, validateReasonOptions, type EngineEvent, type ReasonResult } from "../engine/index.js";
import { gpuSummary } from "../protocol/gpu-text.js";
import { calibrationDirFromFlags, modelConfigFromFlags } from "./flags.js";

type Colour = Parameters<typeof styleText>[0];
const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
export const paint = (colour: Colour, text: string) => (useColour ? styleText(colour, text) : text);
const MODEL_COLOUR = { draft: "cyan", target: "magenta" } as const;

/** The request options the flags ask for; anything left unset takes the engine's default. */
export function reasonOptionsFromFlags(o: Record<string, unknown>): Record<string, unknown> {
  const numeric = (v: unknown) => (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v);
  const options: Record<string, unknown> = { policy: o.policy, threshold: numeric(o.threshold), prefixReuse: o.prefixReuse !== false };
  if (o.maxSteps !== undefined) options.maxSteps = o.maxSteps;
  if (o.maxTokensPerStep !== undefined) options.maxTokensPerStep = o.maxTokensPerStep;
  if (o.temperature !== undefined) options.temperature = o.temperature;
  if (o.style !== undefined) options.promptStyle = o.style;
  if (o.tokenSpec === true) options.tokenSpeculation = true;
  if (o.draftTokens !== undefined) options.draftTokens = o.draftTokens;
  return options;
}

export function printStep(e: Extract<EngineEvent, { type: "step-decided" }>): void {
  const s = e.step;
  const score =
    s.routerScore !== undefined ? ` router ${s.routerScore.toFixed(2)}` : s.scorerScore !== undefined ? ` prm ${s.scorerScore.toFixed(2)}` : "";
  const reuse = s.targetTokensReused > 0 ? `, ${s.targetTokensReused} reused` : "";
  const label = paint(MODEL_COLOUR[s.model], `[${s.index + 1} ${s.model.padEnd(6)}]`);
  const meta = paint("dim", `(${s.tokens} tok, ${s.ms.toFixed(1)} ms${score}${reuse})`);
  process.stdout.write(`${label} ${paint(MODEL_COLOUR[s.model], s.text.trimEnd())} ${meta}\n`);
}

function remoteSummary(r: ReasonResult): string[] {
  return Object.entries(r.stats.remote ?? {}).map(([role, m]) => {
    const perCall = m.calls > 0 ? (m.ms / m.calls).toFixed(1) : "0";
    const saved = role === "target" ? `; ${m.tokensSaved} tokens saved vs target-only` : "";
    return `remote ${role} ${m.url}: ${m.calls} calls, ${perCall} ms/call, prompt tokens ${m.promptTokens} sent, ${m.promptTokensProcessed} processed by the server, ${m.completionTokens} generated${saved}`;
  });
}

/** The target's batch checks: prefix reuse's rejected draft steps and token-level speculation's fresh proposals. */
function verificationSummary(r: ReasonResult): string[] {
  const v = r.stats.verification;
  if (v.rounds === 0) return [];
  const rate = (a: number, p: number) => (p > 0 ? ` (${((100 * a) / p).toFixed(0)}% accepted)` : "");
  const fresh =
    v.freshProposed > 0 && v.freshProposed < v.proposed
      ? `; draft proposals ${v.freshAccepted}/${v.freshProposed} accepted${rate(v.freshAccepted, v.freshProposed)}`
      : "";
  return [`target batch checks: ${v.rounds} rounds, ${v.accepted}/${v.proposed} proposed tokens kept${rate(v.accepted, v.proposed)}${fresh}`];
}

function printSummary(r: ReasonResult): void {
  const st = r.stats;
  const share = st.steps > 0 ? Math.round((100 * st.stepsByModel.draft) / st.steps) : 0;
  process.stdout.write(
    [
      "",
      `${paint("bold", "Answer:")} ${r.answer ?? "(none)"}${r.warnings?.length ? paint("yellow", " (not to be trusted: see the warning above)") : ""}   ${paint("dim", `finished: ${r.finishReason}`)}`,
      ...(st.choice ? [`policy: ${r.policy} — ${st.choice.reason}`] : [`policy: ${r.policy}`]),
      `steps ${st.steps} (draft ${st.stepsByModel.draft}, target ${st.stepsByModel.target}; ${share}% by the draft)`,
      `tokens committed: draft ${st.tokensByModel.draft}, target ${st.tokensByModel.target}; draft tokens discarded ${st.draftTokensDiscarded}; target tokens reused ${st.targetTokensReused}`,
      `time: wall ${st.wallMs.toFixed(1)} ms, draft ${st.meters.draft.ms.toFixed(1)} ms, target ${st.meters.target.ms.toFixed(1)} ms, router ${st.routerMs.toFixed(1)} ms (${st.routerCalls} calls), scorer ${st.scorerMs.toFixed(1)} ms (${st.scorerCalls} calls), overhead ${st.overheadMs.toFixed(1)} ms`,
      ...verificationSummary(r),
      ...remoteSummary(r),
      ...(st.gpu ? [`backend: ${gpuSummary(st.gpu)}${st.gpu.split ? `; split: ${st.gpu.split}` : ""}`] : []),
      "",
    ].join("\n"),
  );
}

export async function runReason(question: string, o: Record<string, unknown>): Promise<void> {
  // Bad input is reported before any model is loaded.
  validateQuestion(question);
  const options = validateReasonOptions(reasonOptionsFromFlags(o));
  const engine = await ArbitrageEngine.create(modelConfigFromFlags(o), { calibrationDir: calibrationDirFromFlags(o) });
  try {
    for (const w of o.json ? [] : engine.warnings) process.stderr.write(`arbitrage: warning: ${w}\n`);
    const abort = new AbortController();
    process.once("SIGINT", () => abort.abort());
    const result = await engine.reason(question, options, {
      signal: abort.signal,
      onEvent: o.json
        ? undefined
        : (e) => {
            if (e.type === "step-decided") printStep(e);
            else if (e.type === "run-started") {
              for (const w of e.warnings ?? []) process.stderr.write(`arbitrage: warning: ${w}\n`);
              for (const n of e.notices ?? []) process.stderr.write(`arbitrage: note: ${n}\n`);
            }
          },
    });
    if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else printSummary(result);
  } finally {
    await engine.dispose();
  }
}
