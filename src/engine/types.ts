/**
 * Public types of the Arbitrage engine. Pure data: these cross the engine-server
 * boundary (LSP notifications) and the webview boundary unchanged, so they must stay
 * JSON-serialisable (no functions, no Maps, no class instances).
 */

/** Who wrote a step. */
export type ModelRole = "draft" | "target";

/**
 * How each step is decided. All share one loop; only the decision differs.
 * - arbitrage: draft writes; router predicts the target's advantage; score >= threshold → target rewrites.
 * - rsd: draft writes; scorer (PRM) scores the draft step; score >= threshold → keep, else target rewrites.
 * - oracle: both write; scorer scores both; target's step used when its score exceeds the draft's by > threshold.
 * - target / draft: one model only.
 * - speculative: the target writes every step, with token-level speculative decoding (the draft
 *   proposes up to `draftTokens` tokens, the target checks them in one batch); the target's text (up to
 *   near-ties on quantized kernels: EngineInfo.exactBatches).
 */
export type Policy = "arbitrage" | "rsd" | "oracle" | "target" | "draft" | "speculative";
export const POLICIES: readonly Policy[] = ["arbitrage", "rsd", "oracle", "target", "draft", "speculative"];
/**
 * What a request asks for: a policy, or `auto` — the engine predicts each method's time per token
 * on this machine from the pair's measured costs (cost/method-choice.ts) and runs the fastest,
 * the target alone unless another is clearly faster.
 */
export type PolicySetting = Policy | "auto";
export const POLICY_SETTINGS: readonly PolicySetting[] = ["auto", ...POLICIES];

/** GPU offload choice; "cpu" disables offload. */
export type GpuChoice = "auto" | "cuda" | "vulkan" | "metal" | "cpu";
export const GPU_CHOICES: readonly GpuChoice[] = ["auto", "cuda", "vulkan", "metal", "cpu"];

/** The llama.cpp backend the models run on. */
export type GpuBackend = "cpu" | "vulkan" | "cuda" | "metal";

/** One GPU backend the engine tried at load, and what came of it. */
export interface BackendAttempt {
  backend: Exclude<GpuBackend, "cpu">;
  outcome: "loaded" | "binding-missing" | "library-missing" | "no-device" | "unsupported-platform";
  /** In words, with the fix where there is one. */
  reason: string;
}

/** Layers of one model on the GPU. */
export interface GpuOffload {
  layers: number;
  totalLayers: number;
}

/** Where the models run: the backend, its devices, what each model offloaded, and why not a GPU when it fell back. */
export interface GpuReport {
  backend: GpuBackend;
  /** The `gpu` setting that chose it. */
  requested: GpuChoice;
  /** GPU device names ([] on the CPU). */
  devices: string[];
  /** Per local model (a model served remotely has none). */
  layers: Partial<Record<ModelRole, GpuOffload>>;
  /** VRAM of the devices when the models were loaded; null on the CPU. */
  vram: { usedBytes: number; totalBytes: number } | null;
  /** Why the models run on the CPU although `gpu` allowed a GPU; null when they did not fall back. */
  fallbackReason: string | null;
  /** Each GPU backend tried, in order (empty for gpu "cpu"). */
  attempts: BackendAttempt[];
  /** How `gpuLayers: "auto"` shared the GPU between the pair when both did not fit (null: all layers, or not on a GPU). */
  split: string | null;
}

/** Prompt style for instruct models (raw completion models use the question as given). */
export type PromptStyle = "math" | "code" | "plain";
export const PROMPT_STYLES: readonly PromptStyle[] = ["math", "code", "plain"];

/**
 * Which router decides `arbitrage` steps: the embedded trained router, the model-free confidence
 * router, random routing (the control: a uniform score, so the threshold is the share of draft
 * steps), or a GGUF path.
 */
export type RouterChoice = "embedded" | "confidence" | "random" | { path: string };
/** Which scorer rates steps for `rsd`/`oracle`: embedded learned PRM, the exact arithmetic checker, or a GGUF path. */
export type ScorerChoice = "embedded" | "exact" | { path: string };

/** Everything needed to load the models (changing any of it means a reload). */
export interface ModelConfig {
  /** Absolute path of the draft GGUF, or "embedded" for the shipped demo draft. */
  draft: string;
  /** Absolute path of the target GGUF, or "embedded" for the shipped demo target. */
  target: string;
  router: RouterChoice;
  scorer: ScorerChoice;
  gpu: GpuChoice;
  /** Layers to offload ("auto" lets node-llama-cpp decide); ignored on CPU. */
  gpuLayers: number | "auto";
  /** Explicit CPU threads. Never left to node-llama-cpp's default (4 threads on 2 cores is ~100x slower). */
  threads: number;
  /** Context size in tokens per model. */
  contextSize: number;
  /**
   * Run the draft and/or target on a serving engine (llama-server, vLLM, SGLang) instead of here.
   * The model file (`draft`/`target`) still gives that model's prompt format and tokenizer; only
   * its vocabulary is loaded. API keys never appear here: they come from the environment.
   */
  remote?: Partial<Record<ModelRole, RemoteModelConfig>>;
}

/** A model served over HTTP (the OpenAI-compatible completions API, or llama-server's own). */
export interface RemoteModelConfig {
  /** Base URL of the server, e.g. "http://127.0.0.1:8080" (a trailing /v1 is accepted). */
  url: string;
  /** Model name the server knows the model by (checked against its /v1/models); default: the only one it serves. */
  model?: string;
  /** No bytes from the server for this long ends the request (ms). */
  timeoutMs?: number;
  /** "auto" uses llama-server's /completion when the server is llama-server (token ids, stop type), else /v1/completions. */
  api?: RemoteApi;
}
export type RemoteApi = "auto" | "openai" | "llama.cpp";
export const REMOTE_APIS: readonly RemoteApi[] = ["auto", "openai", "llama.cpp"];

/** A request's options once `auto` is resolved: the policy that runs. */
export type ResolvedReasonOptions = Omit<ReasonOptions, "policy"> & { policy: Policy };

/** Per-request generation settings. */
export interface ReasonOptions {
  policy: PolicySetting;
  /** Routing threshold in [0, 1]. */
  threshold: number;
  maxSteps: number;
  maxTokensPerStep: number;
  /** Text that ends a step. */
  stepDelimiter: string;
  /** 0 = greedy (the only mode with byte-exact guarantees). */
  temperature: number;
  /** Let the target keep the longest prefix of a rejected draft step that it would have written itself. */
  prefixReuse: boolean;
  /** Write the next draft step while the current one is judged (hides the judge's latency; outputs are unchanged). */
  speculativeDraft: boolean;
  /**
   * Every step the target writes uses token-level speculative decoding (the policy `speculative`
   * always does): the target's text (up to near-ties on quantized kernels), fewer sequential target evaluations. Needs a shared tokenizer, greedy
   * decoding and local models; otherwise the target writes alone and the result says why.
   */
  tokenSpeculation: boolean;
  /** Most draft tokens proposed per verification round of token-level speculation. */
  draftTokens: number;
  promptStyle: PromptStyle;
  /** Text that marks the final answer step (ends the answer once that step is complete). */
  finalAnswerMarker: string;
  /** This request's router instead of the configured one (loaded on first use, then kept). */
  router?: RouterChoice;
  /** This request's scorer instead of the configured one (loaded on first use, then kept). */
  scorer?: ScorerChoice;
}

export type FinishReason =
  | "eos" // a model emitted end-of-generation
  | "final-answer" // the final-answer step was written
  | "max-steps" // step cap reached
  | "context-full" // the context window is full
  | "cancelled"; // the request was aborted

/** One committed step. */
export interface StepRecord {
  index: number;
  /** Step text including its trailing delimiter when it had one. */
  text: string;
  model: ModelRole;
  /** Router's predicted probability that the target writes a meaningfully better step (arbitrage). */
  routerScore?: number;
  /** Scorer's rating of the draft step (rsd, oracle). */
  scorerScore?: number;
  /** Scorer's rating of the target step (oracle). */
  targetScorerScore?: number;
  /** Tokens of the committed text, in the writer's tokenizer. */
  tokens: number;
  /** Draft tokens written for this step and thrown away. */
  draftTokensDiscarded: number;
  /** Target tokens taken over from the rejected draft step by prefix reuse. */
  targetTokensReused: number;
  /** Why the step ended. */
  endedBy: "delimiter" | "eos" | "token-cap" | "context-full" | "cancelled";
  /** Wall time for the step, decision included (ms). */
  ms: number;
  draftMs: number;
  targetMs: number;
  /** The judge's time for this step (ms): the router's, or the scorer's under rsd and oracle (the published field name says router). */
  routerMs: number;
}

export interface ModelMeter {
  /** Tokens this model sampled (generated). */
  generated: number;
  /** Tokens passed through this model's forward pass (prefill, catch-up, verification, generation), read off the sequence's own position counter. */
  evaluated: number;
  /** Evaluated tokens later erased from the cache (speculation not kept, or a re-fed pending token). */
  discarded: number;
  /** Tokens of committed text (prompt included) in this model's tokenizer at the end. */
  committed: number;
  /** Time inside this model's evaluation calls (ms). */
  ms: number;
}

/** A remote model's calls in one request. */
export interface RemoteMeter {
  url: string;
  /** Completion requests sent. */
  calls: number;
  /** Time from sending each request to its last byte (ms). */
  ms: number;
  /** Prompt tokens sent in all (the whole committed text, every call). */
  promptTokens: number;
  /** Prompt tokens the server actually evaluated (the rest came from its prefix cache), when it reports them. */
  promptTokensProcessed: number;
  completionTokens: number;
  /** Tokens of committed text a target-only run would have had the server write: the steps the draft wrote here instead (target only). */
  tokensSaved: number;
  /** Each call: the step it was for, its latency and the prompt tokens the server processed (null when not reported). */
  perCall: Array<{ step: number; ms: number; promptTokens: number; processed: number | null; completionTokens: number }>;
}

export interface RunStats {
  steps: number;
  stepsByModel: Record<ModelRole, number>;
  /** Tokens of committed text written by each model. */
  tokensByModel: Record<ModelRole, number>;
  /** Draft tokens written and thrown away: rejected draft steps, and next steps written speculatively during a rejected step's judging. */
  draftTokensDiscarded: number;
  /** Target tokens of steps it wrote that were not chosen (oracle). */
  targetTokensDiscarded: number;
  targetTokensReused: number;
  /** Proposed tokens the target checked in its verification batches but did not keep (prefix reuse, token-level speculation). */
  targetVerifyWasted: number;
  /**
   * The target's batch verification (prefix reuse and token-level speculation): rounds (one
   * target batch each), proposed tokens checked (rejected draft steps and fresh draft proposals),
   * and the tokens kept; `freshProposed`/`freshAccepted` count the fresh draft proposals only.
   */
  verification: { rounds: number; proposed: number; accepted: number; freshProposed: number; freshAccepted: number };
  routerCalls: number;
  routerMs: number;
  scorerCalls: number;
  scorerMs: number;
  /**
   * Router and scorer time on the critical path: their time less what the draft spent writing,
   * meanwhile, the next step that was then kept (`speculativeDraft`). Without it, routerMs + scorerMs.
   * Absent in results recorded before it was measured.
   */
  judgeCriticalMs?: number;
  meters: Record<ModelRole, ModelMeter>;
  /** Calls to a serving engine, for each model that runs on one. */
  remote?: Partial<Record<ModelRole, RemoteMeter>>;
  wallMs: number;
  /** Wall time during which no model, router or scorer was working (the engine's own overhead). */
  overheadMs: number;
  /** The router that decided (arbitrage only), e.g. "confidence, calibrated for this pair, AUC 0.91". */
  router?: string;
  /** The backend the models ran on (absent in results recorded before it was reported). */
  gpu?: GpuReport;
  /** What `policy: "auto"` chose and why (absent when the request named a policy). */
  choice?: { reason: string; predictedMsPerToken: Partial<Record<"target" | "speculative" | "arbitrage", number>> };
  /** Each local model's measured call costs on this machine so far (ms): one decoded token, each further token of a batch. */
  callCosts?: Partial<Record<ModelRole, { decodeMs: number; batchTokenMs: number }>>;
}

export interface ReasonResult {
  question: string;
  policy: Policy;
  threshold: number;
  steps: StepRecord[];
  /** Full generated text (all committed steps). */
  text: string;
  /** The final answer, extracted after the final-answer marker, or null. */
  answer: string | null;
  finishReason: FinishReason;
  stats: RunStats;
  /** Why this answer should not be trusted, e.g. a question outside the embedded models' training family; absent when none. */
  warnings?: string[];
  /** How the request ran differently from what it asked, without affecting the answer (e.g. token-level speculation off for this pair); absent when none. */
  notices?: string[];
}

/** Streamed while reasoning. */
export type EngineEvent =
  | {
      type: "run-started";
      question: string;
      policy: Policy;
      threshold: number;
      prompt: string;
      warnings?: string[];
      notices?: string[];
      /** Why `auto` chose this policy (absent when the request named one). */
      choice?: string;
    }
  | { type: "step-started"; index: number; model: ModelRole }
  | { type: "token"; index: number; model: ModelRole; text: string }
  | { type: "step-discarded"; index: number; model: ModelRole; text: string; reason: string }
  | { type: "step-decided"; step: StepRecord }
  | { type: "finished"; result: ReasonResult };

/** Progress of model loading (0..1 per file). */
export interface LoadProgress {
  role: "draft" | "target" | "router" | "scorer";
  path: string;
  progress: number;
}
