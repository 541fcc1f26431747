/**
 * Webview script of the Arbitrage panel. Receives `HostToWebview` messages, renders steps live,
 * persists its state with `setState`, and posts `WebviewToHost` messages back.
 * Model text only ever reaches the DOM through render.ts (markdown-it + KaTeX + DOMPurify) or
 * textContent.
 */
import type { EngineEvent, StepRecord } from "../src/protocol/index.js";
import type { WebviewToHost } from "../src/protocol/index.js";
import {
  emptyPanelState,
  isCurrentRun,
  isRunning,
  reducePanel,
  type HostToWebview,
  type PanelState,
  type RunInfo,
} from "../src/protocol/panel-state.js";
import { gpuDetails, gpuSummary } from "../src/protocol/gpu-text.js";
import { formatMs, percent, speedupText, summarize } from "../src/protocol/summary.js";
import { renderStepInto, splitThinking, startsInsideThink, thinkStates, type StepThinking } from "./render.js";
import { formatScore, formatThreshold, thresholdStep } from "../src/shared/scores.js";
import { renderAnswerCode } from "./code-actions.js";

declare function acquireVsCodeApi(): {
  postMessage(m: WebviewToHost): void;
  getState(): unknown;
  setState(s: PanelState): void;
};

const vscode = acquireVsCodeApi();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const stepsEl = $<HTMLElement>("steps");
const summaryEl = $<HTMLElement>("summary");
const questionEl = $<HTMLElement>("question");
const metaEl = $<HTMLElement>("meta");
const errorEl = $<HTMLElement>("error");
const statusEl = $<HTMLElement>("status");
const thresholdEl = $<HTMLInputElement>("threshold");
const thresholdValueEl = $<HTMLOutputElement>("thresholdValue");
const rerunEl = $<HTMLButtonElement>("rerun");
const stopEl = $<HTMLButtonElement>("stop");
const logEl = $<HTMLButtonElement>("log");

/** The panel state: only ever replaced by `reducePanel` (src/protocol/panel-state.ts), as on the host. */
let state: PanelState = emptyPanelState();
/** The step being written: element + accumulated text. */
let pending: { index: number; model: string; el: HTMLElement; body: HTMLElement; text: string } | null = null;
let renderQueued = false;
/** Whether a `<think>` block is open after the committed steps (where the pending step starts). */
let thinkingAfterCommitted = false;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function save(): void {
  vscode.setState(state);
}

function updateControls(): void {
  rerunEl.disabled = state.run === null || isRunning(state);
  stopEl.disabled = !isRunning(state);
  document.body.dataset.state = state.run === null ? "idle" : isRunning(state) ? "running" : state.error ? "failed" : "finished";
}

thresholdEl.addEventListener("input", () => {
  thresholdValueEl.textContent = formatThreshold(Number(thresholdEl.value));
});
rerunEl.addEventListener("click", () => vscode.postMessage({ type: "rerun", threshold: Number(thresholdEl.value) }));
stopEl.addEventListener("click", () => vscode.postMessage({ type: "stop" }));
logEl.addEventListener("click", () => vscode.postMessage({ type: "show-log" }));

// ---------------------------------------------------------------------------------------------

function renderHeader(run: RunInfo | null): void {
  questionEl.textContent = run ? run.question : "Run “Reason with Arbitrage” to start.";
  // Which weights routed (e.g. "confidence, calibrated for this pair, AUC 0.93") is known once the run finishes.
  const router = state.result?.stats.router;
  // Where the models ran, likewise from the result; the full report (a fallback's reason, the split) as the tooltip.
  const gpu = state.result?.stats.gpu;
  // What `auto` chose is known once the run finishes; the reason is in the tooltip.
  const choice = state.result?.stats.choice;
  const policy = state.result && choice ? `auto → ${state.result.policy}` : run?.policy;
  metaEl.textContent = run
    ? `${run.pair} · policy ${policy} · threshold ${formatThreshold(run.threshold)}${router ? ` · router: ${router}` : ""}${gpu ? ` · ${gpuSummary(gpu)}` : ""}`
    : "";
  metaEl.title = [run && gpu ? gpuDetails(gpu) : "", choice?.reason].filter(Boolean).join("\n\n");
  if (run) {
    thresholdEl.step = thresholdStep(run.threshold);
    thresholdEl.value = String(run.threshold);
    thresholdValueEl.textContent = formatThreshold(run.threshold);
  }
}

function modelLabel(model: string): string {
  return model === "target" ? "target" : "draft";
}

function stepShell(index: number, model: string, pendingStep: boolean): { root: HTMLElement; head: HTMLElement; body: HTMLElement } {
  const root = el("article", `step ${modelLabel(model)}${pendingStep ? " pending" : ""}`);
  root.dataset.index = String(index);
  root.dataset.model = modelLabel(model);
  const head = el("div", "step-head");
  head.append(el("span", `badge ${modelLabel(model)}`, modelLabel(model)), el("span", "step-index", `step ${index + 1}`));
  if (pendingStep) head.append(el("span", "writing", "writing…"));
  const body = el("div", "step-body");
  root.append(head, body);
  return { root, head, body };
}

function routerInfo(step: StepRecord, threshold: number): HTMLElement | null {
  const score = step.routerScore ?? step.scorerScore;
  if (score === undefined || !Number.isFinite(score)) return null;
  const box = el("span", "router");
  const label = step.routerScore !== undefined ? "router" : "scorer";
  const bar = el("span", "bar");
  bar.title = `${label} score ${score.toFixed(3)} vs threshold ${threshold.toFixed(2)}`;
  const fill = el("span", "fill");
  fill.style.width = `${Math.max(0, Math.min(1, score)) * 100}%`;
  const mark = el("span", "mark");
  mark.style.left = `${Math.max(0, Math.min(1, threshold)) * 100}%`;
  bar.append(fill, mark);
  const shown = formatScore(score, threshold);
  box.append(el("span", "router-label", `${label} ${shown.score} ${shown.cmp} ${shown.threshold}`), bar);
  return box;
}

/** Marks a step inside a reasoning block: `thinking` when all of it is thinking, `part-thinking` when it also answers. */
function markThinking(root: HTMLElement, thinking: StepThinking): void {
  root.classList.toggle("thinking", thinking === "all");
  root.classList.toggle("part-thinking", thinking === "part");
  if (thinking === "none") delete root.dataset.thinking;
  else root.dataset.thinking = thinking;
}

function renderStep(step: StepRecord, thinkingAtStart: boolean): HTMLElement {
  // Without a run (a partly unreadable saved state), the slider's value: the host renders it with the default.
  const threshold = state.run?.threshold ?? Number(thresholdEl.value);
  const { root, head, body } = stepShell(step.index, step.model, false);
  const info = routerInfo(step, threshold);
  if (info) head.append(info);
  head.append(el("span", "step-stats", `${step.tokens} tok · ${formatMs(step.ms)}`));
  markThinking(root, renderStepInto(body, step.text, false, thinkingAtStart).thinking);
  for (const d of state.discarded.filter((x) => x.index === step.index)) {
    const det = el("details", "discarded");
    det.append(el("summary", undefined, `${modelLabel(d.model)} step discarded: ${d.reason}`));
    det.append(el("pre", "discarded-text", d.text));
    root.append(det);
  }
  return root;
}

function renderSummary(): void {
  const r = state.result;
  if (!r) {
    summaryEl.hidden = true;
    summaryEl.textContent = "";
    return;
  }
  const s = summarize(r, state.targetMsPerToken);
  summaryEl.hidden = false;
  summaryEl.textContent = "";
  summaryEl.append(el("h2", undefined, "Summary"));
  if (r.answer !== null) {
    // The final answer (src/engine/answer.ts), as text: the first thing to read when a run ends.
    const answer = el("p", "final-answer");
    answer.append(el("span", "final-answer-label", "Answer"), el("strong", undefined, r.answer));
    answer.lastElementChild!.id = "answer";
    summaryEl.append(answer);
  }
  // The engine's warnings about this answer (e.g. a question outside the embedded models' family): next to it, never hidden.
  for (const w of r.warnings ?? []) summaryEl.append(el("p", "run-warning", `Warning: ${w}`));
  // How the run differed from what was asked, without touching the answer (e.g. token-level speculation off for this pair).
  for (const n of r.notices ?? []) summaryEl.append(el("p", "run-notice", `Note: ${n}`));
  const share = el("div", "share");
  const d = el("span", "share-draft");
  d.style.width = `${s.draftShare * 100}%`;
  const t = el("span", "share-target");
  t.style.width = `${s.targetShare * 100}%`;
  share.append(d, t);
  summaryEl.append(share);
  const dl = el("dl");
  const row = (k: string, v: string) => dl.append(el("dt", undefined, k), el("dd", undefined, v));
  row("Steps", `${s.steps} — draft ${s.draftSteps} (${percent(s.draftShare)}), target ${s.targetSteps} (${percent(s.targetShare)})`);
  row("Tokens", `${s.tokens} — draft ${s.draftTokens}, target ${s.targetTokens}`);
  row("Wall time", `${formatMs(s.wallMs)} (${s.tokensPerSecond.toFixed(0)} tok/s)`);
  row("Est. speedup vs target-only", speedupText(s));
  row("Finished", r.finishReason);
  summaryEl.append(dl);
  renderAnswerCode(summaryEl, r.text, (m) => vscode.postMessage(m));
}

function renderAll(): void {
  renderHeader(state.run);
  pending = null;
  renderCommittedSteps();
  renderSummary();
  errorEl.hidden = !state.error;
  errorEl.textContent = state.error ? state.error.message : "";
  updateControls();
}

function renderCommittedSteps(): void {
  stepsEl.textContent = "";
  const starts = thinkStates(state.steps.map((s) => s.text));
  state.steps.forEach((step, i) => stepsEl.append(renderStep(step, starts[i]!)));
  const last = state.steps.at(-1);
  thinkingAfterCommitted = last ? splitThinking(last.text, starts.at(-1)!).insideAtEnd : false;
}

function flushPending(): void {
  renderQueued = false;
  if (pending) markThinking(pending.el, renderStepInto(pending.body, pending.text, true, thinkingAfterCommitted).thinking);
}

function dropPending(): void {
  pending?.el.remove();
  pending = null;
}

/** Shows one engine event of the current run; `before` is the state the reducer got it in. */
function showEngineEvent(e: EngineEvent, before: PanelState): void {
  switch (e.type) {
    case "step-started":
    case "token": {
      if (!pending || pending.index !== e.index || pending.model !== e.model) {
        dropPending();
        const { root, body } = stepShell(e.index, e.model, true);
        stepsEl.append(root);
        pending = { index: e.index, model: e.model, el: root, body, text: "" };
      }
      if (e.type === "token") {
        pending.text += e.text;
        if (!renderQueued) {
          renderQueued = true;
          requestAnimationFrame(flushPending);
        }
      }
      break;
    }
    case "step-discarded":
      if (pending && pending.index === e.index && pending.model === e.model) dropPending();
      break;
    case "step-decided": {
      if (pending && pending.index === e.step.index) dropPending();
      const texts = (s: PanelState) => s.steps.map((x) => x.text);
      if (startsInsideThink(texts(state)) !== startsInsideThink(texts(before))) {
        // A `</think>` that no `<think>` opened: everything before it was thinking.
        renderCommittedSteps();
      } else {
        const thinkingAtStart = thinkingAfterCommitted;
        stepsEl.append(renderStep(e.step, thinkingAtStart));
        thinkingAfterCommitted = splitThinking(e.step.text, thinkingAtStart).insideAtEnd;
      }
      break;
    }
    case "finished":
      dropPending();
      renderHeader(state.run);
      renderSummary();
      updateControls();
      break;
    default:
      break;
  }
}

/** Shows what one host message changed; the state itself was already folded by `reducePanel`. */
function show(m: HostToWebview, before: PanelState): void {
  switch (m.type) {
    case "restore":
    case "run-started":
      renderAll();
      break;
    case "engine-event":
      if (isCurrentRun(before, m.runId)) showEngineEvent(m.event, before);
      break;
    case "run-failed":
      if (state.error !== before.error) {
        dropPending();
        errorEl.hidden = false;
        errorEl.textContent = state.error?.message ?? "";
        updateControls();
      }
      break;
    case "status":
      statusEl.textContent = m.text;
      break;
    case "target-speed":
      renderSummary();
      break;
  }
}

window.addEventListener("message", (ev: MessageEvent) => {
  const m = ev.data as HostToWebview;
  if (typeof m !== "object" || m === null) return;
  const before = state;
  state = reducePanel(state, m);
  show(m, before);
  if (state !== before) save();
});

// Show what we had before a reload at once; the host's `restore` follows.
const saved = vscode.getState() as PanelState | undefined;
if (saved && saved.version === 1) {
  state = saved;
  try {
    renderAll();
  } catch {
    state = emptyPanelState();
  }
}
updateControls();
vscode.postMessage({ type: "ready" });
