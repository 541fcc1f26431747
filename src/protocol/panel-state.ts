/**
 * The panel's state and the one reducer that applies the host's messages to it. The extension
 * host (its mirror of the panel, and the mirrors of chat runs) and the webview both fold the same
 * messages through `reducePanel`, so what the host would restore is exactly what the webview shows.
 *
 * Dependency-free on purpose: only type imports, so the webview bundle can import it without
 * pulling in the JSON-RPC protocol module (src/protocol/index.ts) or anything of Node.
 * The reducer is pure: it never mutates its inputs and returns the same object when nothing
 * changed (a token event changes nothing here: the step being written lives in the webview's DOM).
 */
import type { EngineEvent, ModelRole, ReasonOptions, ReasonResult, StepRecord } from "../engine/types.js";
import type { ArbitrageErrorData as EngineErrorData } from "../engine/errors.js";

export interface RunInfo {
  runId: string;
  question: string;
  policy: ReasonOptions["policy"];
  threshold: number;
  /** Short display names of the pair, e.g. "draft.gguf → target.gguf". */
  pair: string;
  startedAt: number;
}

export interface DiscardedStep {
  index: number;
  model: ModelRole;
  text: string;
  reason: string;
}

/** What the webview persists (vscode.setState) and what the panel serializer hands back. */
export interface PanelState {
  version: 1;
  run: RunInfo | null;
  steps: StepRecord[];
  discarded: DiscardedStep[];
  result: ReasonResult | null;
  error: EngineErrorData | null;
  /** Target-only speed measured in earlier runs (ms per target token), for the speedup estimate. */
  targetMsPerToken: number | null;
}

export type HostToWebview =
  | { type: "restore"; state: PanelState }
  | { type: "run-started"; run: RunInfo }
  | { type: "engine-event"; runId: string; event: EngineEvent }
  | { type: "run-failed"; runId: string; error: EngineErrorData }
  | { type: "status"; text: string }
  | { type: "target-speed"; msPerToken: number };

export function emptyPanelState(): PanelState {
  return { version: 1, run: null, steps: [], discarded: [], result: null, error: null, targetMsPerToken: null };
}

/** A fresh run: nothing of the previous run stays except the measured target speed. */
export function startedPanelState(previous: PanelState, run: RunInfo): PanelState {
  return { ...emptyPanelState(), targetMsPerToken: previous.targetMsPerToken, run };
}

/** Applies one engine event of the state's own run. */
export function applyEngineEvent(state: PanelState, event: EngineEvent): PanelState {
  switch (event.type) {
    case "step-decided":
      return { ...state, steps: [...state.steps, event.step] };
    case "step-discarded": {
      const { index, model, text, reason } = event;
      return { ...state, discarded: [...state.discarded, { index, model, text, reason }] };
    }
    case "finished":
      return { ...state, result: event.result };
    default:
      // run-started, step-started, token: shown while streaming, not part of the state.
      return state;
  }
}

/**
 * Applies one host → webview message. Events and failures of any run other than the state's own
 * (a run replaced by a re-run still streams until its cancel lands) are ignored.
 */
export function reducePanel(state: PanelState, message: HostToWebview): PanelState {
  switch (message.type) {
    case "restore":
      return message.state;
    case "run-started":
      return startedPanelState(state, message.run);
    case "engine-event":
      return isCurrentRun(state, message.runId) ? applyEngineEvent(state, message.event) : state;
    case "run-failed":
      return isCurrentRun(state, message.runId) ? { ...state, error: { code: message.error.code, message: message.error.message } } : state;
    case "target-speed":
      return { ...state, targetMsPerToken: message.msPerToken };
    default:
      // "status" and anything unknown: nothing to keep.
      return state;
  }
}

/** Whether `runId` is the state's run (messages of any other run change nothing). */
export function isCurrentRun(state: PanelState, runId: string): boolean {
  return state.run?.runId === runId;
}

/** Whether the state's run is still going (started, neither finished nor failed). */
export function isRunning(state: PanelState): boolean {
  return state.run !== null && state.result === null && state.error === null;
}
