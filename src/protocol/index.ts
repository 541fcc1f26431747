/**
 * The one protocol module of the extension. Every message that crosses a process or
 * frame boundary is declared here exactly once and imported by both sides:
 *
 *  - extension host  <-> engine server process (JSON-RPC over Node IPC, vscode-languageclient /
 *    vscode-languageserver): requests and notifications below, namespace `arbitrage/`.
 *  - extension host  <-> webview (postMessage): `HostToWebview` and `WebviewToHost`.
 *
 * Payloads reuse the engine's JSON-serialisable types (src/engine/types.ts) unchanged.
 * Nothing here may import `vscode`, `node-llama-cpp` or `node:` modules: the module is bundled
 * into the extension host, the engine server and the webview script alike. Untrusted input
 * (webview messages, the saved panel state, error data off the wire) is checked with valibot
 * schemas; valibot is tree-shaken, so a bundle that uses none of them carries none of it.
 */
import * as v from "valibot";
import { ErrorCodes, LSPErrorCodes, NotificationType, RequestType, RequestType0 } from "vscode-languageserver-protocol";
import { LIMITS } from "../engine/defaults.js";
import { ArbitrageError, cancelledError, ERROR_CODES, isArbitrageError, type ArbitrageErrorData, type ErrorCode } from "../engine/errors.js";
import { POLICIES, POLICY_SETTINGS } from "../engine/types.js";
import type { EngineEvent, GpuReport, LoadProgress, ModelConfig, ModelRole, ReasonOptions, ReasonResult, StepRecord } from "../engine/types.js";
import { emptyPanelState, type PanelState, type RunInfo } from "./panel-state.js";

export type { EngineEvent, GpuReport, LoadProgress, ModelConfig, ModelRole, ReasonOptions, ReasonResult, StepRecord, ErrorCode };
export { ArbitrageError, cancelledError, isArbitrageError };

/** Bumped whenever a message below changes shape; the server reports it in `initialize`. */
export const PROTOCOL_VERSION = 3;

// ---------------------------------------------------------------------------------------------
// Errors. A failed request replies with a JSON-RPC error whose `data` is `EngineErrorData`.
// ---------------------------------------------------------------------------------------------

/**
 * Carried in `ResponseError.data` of every failed engine request: the server sends
 * `ArbitrageError.toJSON()`, the client rebuilds the same class with `errorFromData`.
 */
export type EngineErrorData = ArbitrageErrorData;

export const ErrorDataSchema = v.object({
  code: v.picklist(ERROR_CODES),
  message: v.string(),
  path: v.optional(v.array(v.string())),
  partial: v.optional(v.object({ steps: v.number(), text: v.string() })),
});

/** The ArbitrageError that a failed request's `data` describes, or null when it describes none. */
export function errorFromData(data: unknown): ArbitrageError | null {
  const r = v.safeParse(ErrorDataSchema, data);
  return r.success ? ArbitrageError.fromJSON(r.output) : null;
}

/** JSON-RPC error codes used by the server: the protocol library's own, plus one of ours. */
export const RpcErrorCodes = {
  /** A message that is not JSON-RPC at all (answered by src/server/guard.ts). */
  InvalidRequest: ErrorCodes.InvalidRequest,
  InvalidParams: ErrorCodes.InvalidParams,
  MethodNotFound: ErrorCodes.MethodNotFound,
  InternalError: ErrorCodes.InternalError,
  RequestCancelled: LSPErrorCodes.RequestCancelled,
  /** Engine-level failure (model missing, bad option…): see `data.code`. */
  EngineError: -32001,
} as const;

// ---------------------------------------------------------------------------------------------
// Extension host -> engine server: requests.
// ---------------------------------------------------------------------------------------------

export interface ReasonParams {
  /** Chosen by the client; step events for this request carry it. */
  requestId: string;
  question: string;
  /** Validated models; the server (re)loads them first when they differ from the loaded ones. */
  config: ModelConfig;
  options: Partial<ReasonOptions>;
}
/**
 * Runs one question. Requests are queued and run one at a time. Cancellation is the protocol's
 * own (`$/cancelRequest` via the client's CancellationToken): a cancelled run replies with its
 * partial result (`finishReason: "cancelled"`) or with a RequestCancelled error when it had not
 * started.
 */
export const ReasonRequest = /* @__PURE__ */ new RequestType<ReasonParams, ReasonResult, EngineErrorData>("arbitrage/reason");

export interface CancelParams {
  /** Cancel one request, or every queued and running one when omitted. */
  requestId?: string;
}
export interface CancelResult {
  cancelled: number;
}
/** Out-of-band cancel (the Stop command); ordinary cancellation uses the request's token. */
export const CancelRequest = /* @__PURE__ */ new RequestType<CancelParams, CancelResult, EngineErrorData>("arbitrage/cancel");

export interface LoadParams {
  config: ModelConfig;
}
export interface LoadResult {
  /** False when the same config was already loaded (nothing was done). */
  loaded: boolean;
  ms: number;
  draft: string;
  target: string;
  /** Where the loaded models run (backend, devices, layers, VRAM, why not a GPU). */
  gpu: GpuReport;
  /** The loaded engine's load-time warnings (a fallback to the CPU among them). */
  warnings: string[];
}
/** Loads (or reloads) the models; progress streams as `LoadProgressNotification`; cancellable. */
export const LoadRequest = /* @__PURE__ */ new RequestType<LoadParams, LoadResult, EngineErrorData>("arbitrage/load");

/** Disposes the loaded models (the process stays up). */
export const UnloadRequest = /* @__PURE__ */ new RequestType0<{ unloaded: boolean }, EngineErrorData>("arbitrage/unload");

export interface StatusResult {
  protocolVersion: number;
  pid: number;
  /** Config of the loaded models, null when none are loaded. */
  loaded: ModelConfig | null;
  loading: boolean;
  /** Request ids: the running one first, then the queue. */
  running: string | null;
  queued: string[];
  rssBytes: number;
  uptimeMs: number;
  /** Requests served since start. */
  served: number;
  /** Model loads started since start (a reload of the same config is none). */
  loads: number;
}
export const StatusRequest = /* @__PURE__ */ new RequestType0<StatusResult, EngineErrorData>("arbitrage/status");

export interface DownloadParams {
  downloadId: string;
  /** node-llama-cpp model URI, e.g. `hf:user/repo:Q4_K_M`. */
  uri: string;
  /** Absolute folder to download into (resumes a partial file there). */
  dirPath: string;
  /** Base URL replacing the hub's for `hf:` URIs: a mirror (the `arbitrage.modelMirror` setting). */
  endpoint?: string;
  /** Fail when no data arrives for this long (ms; default 60 s). */
  stallMs?: number;
}
export interface DownloadResult {
  path: string;
}
/** Downloads a model with node-llama-cpp's downloader (resumable), checked by SHA-256 and as a GGUF; progress as notifications. */
export const DownloadRequest = /* @__PURE__ */ new RequestType<DownloadParams, DownloadResult, EngineErrorData>("arbitrage/download");

export interface CalibrateParams {
  /** Chosen by the client; progress notifications carry it. */
  requestId: string;
  /** The pair to calibrate (loaded first when it differs from the loaded one). */
  config: ModelConfig;
  /** Absolute path of a JSONL problem file: one {"question", "answer"} per line. */
  problemsPath: string;
  /** Stop new rollouts after this many minutes and fit what is done. */
  budgetMinutes?: number;
}
export interface CalibrateSummary {
  /** "cancelled": nothing written; the finished rollouts are kept and a rerun resumes. */
  status: "written" | "cancelled";
  /** The calibration file (in the engine's calibration folder, the extension's global storage). */
  path: string | null;
  /** e.g. "confidence, calibrated for this pair, AUC 0.93". */
  router: string | null;
  auc: number | null;
  defaultWeightsAuc: number | null;
  suggestedThreshold: number | null;
  labels: "exact" | "outcome" | "prm";
  done: number;
  total: number;
  stoppedByBudget: boolean;
}
/**
 * Fits the confidence router to the pair (src/engine/calibration): oracle rollouts on the
 * problems, progress as `CalibrateProgressNotification`, cancellable through the request token.
 * The engine picks the file up for that pair from the next load on.
 */
export const CalibrateRequest = /* @__PURE__ */ new RequestType<CalibrateParams, CalibrateSummary, EngineErrorData>("arbitrage/calibrate");

// ---------------------------------------------------------------------------------------------
// Engine server -> extension host: notifications.
// ---------------------------------------------------------------------------------------------

export interface EngineEventParams {
  requestId: string;
  event: EngineEvent;
}
/** One streamed engine event of a running reason request. */
export const EngineEventNotification = /* @__PURE__ */ new NotificationType<EngineEventParams>("arbitrage/event");

/** Model loading progress (per file, 0..1). */
export const LoadProgressNotification = /* @__PURE__ */ new NotificationType<LoadProgress>("arbitrage/loadProgress");

export interface DownloadProgressParams {
  downloadId: string;
  downloadedBytes: number;
  totalBytes: number;
}
export const DownloadProgressNotification = /* @__PURE__ */ new NotificationType<DownloadProgressParams>("arbitrage/downloadProgress");

export interface CalibrateProgressParams {
  requestId: string;
  done: number;
  total: number;
  /** Labelled steps so far, and how many of them the target would write better. */
  rows: number;
  positives: number;
  etaMs: number | null;
}
export const CalibrateProgressNotification = /* @__PURE__ */ new NotificationType<CalibrateProgressParams>("arbitrage/calibrateProgress");

export interface LogParams {
  level: "info" | "warn" | "error";
  message: string;
}
/** Engine log line, shown in the "Arbitrage Engine" output channel. */
export const LogNotification = /* @__PURE__ */ new NotificationType<LogParams>("arbitrage/log");

// ---------------------------------------------------------------------------------------------
// Extension host <-> webview (postMessage). Model text inside these messages is untrusted.
// ---------------------------------------------------------------------------------------------

// The panel's state, the host's messages to the webview and their one reducer live in the
// dependency-free ./panel-state.ts (the webview bundle imports it directly).
export {
  applyEngineEvent,
  emptyPanelState,
  isCurrentRun,
  isRunning,
  reducePanel,
  startedPanelState,
  type DiscardedStep,
  type HostToWebview,
  type PanelState,
  type RunInfo,
} from "./panel-state.js";

const ThresholdSchema = v.pipe(v.number(), v.finite(), v.minValue(LIMITS.threshold.min), v.maxValue(LIMITS.threshold.max));

/** What a button of one of the answer's code blocks asks for. */
export const CODE_BLOCK_ACTIONS = ["copy", "insert", "apply"] as const;
export type CodeBlockAction = (typeof CODE_BLOCK_ACTIONS)[number];

/** Messages from the webview; each object schema keeps only its known fields. */
const WebviewToHostSchema = v.variant("type", [
  v.object({ type: v.literal("ready") }),
  v.object({ type: v.literal("rerun"), threshold: ThresholdSchema }),
  v.object({ type: v.literal("stop") }),
  v.object({ type: v.literal("show-log") }),
  // The block by its index among the answer's complete code blocks: the host takes the code from its own copy of the answer.
  v.object({
    type: v.literal("code-block"),
    action: v.picklist(CODE_BLOCK_ACTIONS),
    block: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(10_000)),
  }),
]);
export type WebviewToHost = v.InferOutput<typeof WebviewToHostSchema>;

/** Messages from the webview are checked before use (it renders untrusted text); anything else is null. */
export function parseWebviewMessage(m: unknown): WebviewToHost | null {
  const r = v.safeParse(WebviewToHostSchema, m);
  return r.success ? r.output : null;
}

// The saved panel state, as the webview stored it. Each schema lists every field of its type, so
// the compiler (the `GenericSchema<unknown, T>` annotations) reports a field added to the type
// and not here; loose objects keep what they do not list, so a well-formed state comes back whole.
const num = v.pipe(v.number(), v.finite());
const ModelRoleSchema = v.picklist(["draft", "target"] as const satisfies readonly ModelRole[]);

const RunInfoSchema: v.GenericSchema<unknown, RunInfo> = v.object({
  runId: v.string(),
  question: v.string(),
  policy: v.picklist(POLICY_SETTINGS),
  threshold: ThresholdSchema,
  pair: v.string(),
  startedAt: num,
});

const StepRecordSchema: v.GenericSchema<unknown, StepRecord> = v.looseObject({
  index: v.pipe(v.number(), v.integer(), v.minValue(0)),
  text: v.string(),
  model: ModelRoleSchema,
  routerScore: v.optional(num),
  scorerScore: v.optional(num),
  targetScorerScore: v.optional(num),
  tokens: num,
  draftTokensDiscarded: num,
  targetTokensReused: num,
  endedBy: v.picklist(["delimiter", "eos", "token-cap", "context-full", "cancelled"] as const satisfies readonly StepRecord["endedBy"][]),
  ms: num,
  draftMs: num,
  targetMs: num,
  routerMs: num,
});

const DiscardedSchema: v.GenericSchema<unknown, PanelState["discarded"][number]> = v.object({
  index: v.pipe(v.number(), v.integer(), v.minValue(0)),
  model: ModelRoleSchema,
  text: v.string(),
  reason: v.string(),
});

const perModel = <T>(s: v.GenericSchema<unknown, T>) => v.object({ draft: s, target: s });
const MeterSchema = v.looseObject({ generated: num, evaluated: num, discarded: num, committed: num, ms: num });
const ResultSchema: v.GenericSchema<unknown, ReasonResult> = v.looseObject({
  question: v.string(),
  policy: v.picklist(POLICIES),
  threshold: num,
  steps: v.array(StepRecordSchema),
  text: v.string(),
  answer: v.nullable(v.string()),
  finishReason: v.picklist([
    "eos",
    "final-answer",
    "max-steps",
    "context-full",
    "cancelled",
  ] as const satisfies readonly ReasonResult["finishReason"][]),
  stats: v.looseObject({
    steps: num,
    stepsByModel: perModel(num),
    tokensByModel: perModel(num),
    draftTokensDiscarded: num,
    targetTokensDiscarded: num,
    targetTokensReused: num,
    targetVerifyWasted: num,
    // Saved before token-level speculation counted its rounds: none.
    verification: v.optional(v.object({ rounds: num, proposed: num, accepted: num, freshProposed: num, freshAccepted: num }), () => ({
      rounds: 0,
      proposed: 0,
      accepted: 0,
      freshProposed: 0,
      freshAccepted: 0,
    })),
    routerCalls: num,
    routerMs: num,
    scorerCalls: num,
    scorerMs: num,
    // Absent in results recorded before it was measured: then all judging was on the critical path.
    judgeCriticalMs: v.optional(num),
    meters: perModel(MeterSchema),
    wallMs: num,
    overheadMs: num,
  }),
});

/** An array of which only the elements matching `schema` are kept. */
const wellFormed = <T>(schema: v.GenericSchema<unknown, T>) =>
  v.pipe(
    v.array(v.unknown()),
    v.transform((xs) => xs.filter((x): x is T => v.is(schema, x))),
  );

/** Each part falls back on its own: one malformed part does not cost the others. */
const PanelStateSchema = v.object({
  version: v.literal(1),
  run: v.fallback(v.nullable(RunInfoSchema), null),
  steps: v.fallback(wellFormed(StepRecordSchema), []),
  discarded: v.fallback(wellFormed(DiscardedSchema), []),
  result: v.fallback(v.nullable(ResultSchema), null),
  error: v.fallback(v.nullable(ErrorDataSchema), null),
  targetMsPerToken: v.fallback(v.nullable(num), null),
});

/** The saved webview state is untrusted input too: keep only well-formed parts (anything but a version-1 object is an empty panel). */
export function coerceState(saved: unknown): PanelState {
  const r = v.safeParse(PanelStateSchema, saved);
  return r.success ? r.output : emptyPanelState();
}
