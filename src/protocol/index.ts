/**
 * The one protocol module of the extension. Every message that crosses a process or
 * frame boundary is declared here exactly once and imported by both sides:
 *
 *  - extension host  <-> engine server process (JSON-RPC over Node IPC, vscode-languageclient /
 *    vscode-languageserver): requests and notifications below, namespace `arbitrage/`.
 *  - extension host  <-> webview (postMessage): `HostToWebview` and `WebviewToHost`.
 *
 * Payloads reuse the engine's JSON-serialisable types (src/engine/types.ts) unchanged.
 * Nothing here may import `vscode` or `node-llama-cpp`: the module is bundled into the
 * extension host, the engine server and the webview script alike.
 */
import { NotificationType, RequestType, RequestType0 } from "vscode-languageserver-protocol";
import type { ErrorCode } from "../engine/errors.js";
import type {
  EngineEvent,
  LoadProgress,
  ModelConfig,
  ModelRole,
  ReasonOptions,
  ReasonResult,
  StepRecord,
} from "../engine/types.js";

export type { EngineEvent, LoadProgress, ModelConfig, ModelRole, ReasonOptions, ReasonResult, StepRecord, ErrorCode };

/** Bumped whenever a message below changes shape; the server reports it in `initialize`. */
export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Errors. A failed request replies with a JSON-RPC error whose `data` is `EngineErrorData`.
// ---------------------------------------------------------------------------------------------

/** Carried in `ResponseError.data` of every failed engine request. */
export interface EngineErrorData {
  code: ErrorCode;
  message: string;
}

/** JSON-RPC error codes used by the server (InvalidParams/MethodNotFound are the standard ones). */
export const RpcErrorCodes = {
  InvalidParams: -32602,
  MethodNotFound: -32601,
  InternalError: -32603,
  /** LSP's RequestCancelled. */
  RequestCancelled: -32800,
  /** Engine-level failure (model missing, bad option…): see `data.code`. */
  EngineError: -32001,
} as const;

export function isEngineErrorData(v: unknown): v is EngineErrorData {
  return typeof v === "object" && v !== null && typeof (v as EngineErrorData).code === "string" &&
    typeof (v as EngineErrorData).message === "string";
}

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
}
export const StatusRequest = /* @__PURE__ */ new RequestType0<StatusResult, EngineErrorData>("arbitrage/status");

export interface DownloadParams {
  downloadId: string;
  /** node-llama-cpp model URI, e.g. `hf:user/repo:Q4_K_M`. */
  uri: string;
  /** Absolute folder to download into (resumes a partial file there). */
  dirPath: string;
}
export interface DownloadResult {
  path: string;
}
/** Downloads a model with node-llama-cpp's downloader (resumable); progress as notifications. */
export const DownloadRequest = /* @__PURE__ */ new RequestType<DownloadParams, DownloadResult, EngineErrorData>("arbitrage/download");

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

export interface LogParams {
  level: "info" | "warn" | "error";
  message: string;
}
/** Engine log line, shown in the "Arbitrage Engine" output channel. */
export const LogNotification = /* @__PURE__ */ new NotificationType<LogParams>("arbitrage/log");

// ---------------------------------------------------------------------------------------------
// Extension host <-> webview (postMessage). Model text inside these messages is untrusted.
// ---------------------------------------------------------------------------------------------

export interface RunInfo {
  runId: string;
  question: string;
  policy: ReasonOptions["policy"];
  threshold: number;
  /** Short display names of the pair, e.g. "draft.gguf → target.gguf". */
  pair: string;
  startedAt: number;
}

/** What the webview persists (vscode.setState) and what the panel serializer hands back. */
export interface PanelState {
  version: 1;
  run: RunInfo | null;
  steps: StepRecord[];
  discarded: { index: number; model: ModelRole; text: string; reason: string }[];
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

export type WebviewToHost =
  | { type: "ready" }
  | { type: "rerun"; threshold: number }
  | { type: "stop" }
  | { type: "show-log" };

const WEBVIEW_TO_HOST_TYPES = new Set(["ready", "rerun", "stop", "show-log"]);

/** Messages from the webview are checked before use (it renders untrusted text). */
export function parseWebviewMessage(m: unknown): WebviewToHost | null {
  if (typeof m !== "object" || m === null) return null;
  const t = (m as { type?: unknown }).type;
  if (typeof t !== "string" || !WEBVIEW_TO_HOST_TYPES.has(t)) return null;
  if (t === "rerun") {
    const th = (m as { threshold?: unknown }).threshold;
    if (typeof th !== "number" || !Number.isFinite(th) || th < 0 || th > 1) return null;
    return { type: "rerun", threshold: th };
  }
  return { type: t } as WebviewToHost;
}

export function emptyPanelState(): PanelState {
  return { version: 1, run: null, steps: [], discarded: [], result: null, error: null, targetMsPerToken: null };
}

/** The saved webview state is untrusted input too: keep only well-formed parts. */
export function coerceState(saved: unknown): PanelState {
  const s = emptyPanelState();
  if (typeof saved !== "object" || saved === null) return s;
  const v = saved as Partial<PanelState>;
  if (v.version !== 1) return s;
  if (v.run && typeof v.run === "object" && typeof v.run.runId === "string" && typeof v.run.question === "string") s.run = v.run;
  if (Array.isArray(v.steps)) s.steps = v.steps.filter((x) => x && typeof x.text === "string" && typeof x.index === "number");
  if (Array.isArray(v.discarded)) s.discarded = v.discarded.filter((x) => x && typeof x.text === "string");
  if (v.result && typeof v.result === "object" && Array.isArray(v.result.steps)) s.result = v.result;
  if (v.error && typeof v.error.message === "string") s.error = v.error;
  if (typeof v.targetMsPerToken === "number") s.targetMsPerToken = v.targetMsPerToken;
  return s;
}
