import type { Llama, LlamaModel, Token } from "node-llama-cpp";
import { ClassifierSession, classifierSpecFromMetadata } from "./classifier-session.js";
import { extractFinalAnswer } from "./answer.js";
import { ArbitrageError, cancelledError, isArbitrageError } from "./errors.js";
import type { GeneratingSession } from "./generator.js";
import { ConfidenceJudge, ExactArithmeticJudge, ModelJudge, type StepJudge } from "./judges.js";
import { RandomJudge } from "./random-judge.js";
import { checkModelFile, type ModelFileCheck } from "./model-files.js";
import { ModelSession } from "./model-session.js";
import type { CandidateStep } from "./step.js";
import { validateModelConfig, validateReasonOptions } from "./options.js";
import { embeddedModelPath } from "./paths.js";
import { buildPrompt, embeddedTaskWarnings, isEmbeddedTaskModel } from "./prompt.js";
import { connect, plainHttpWarning, type RemoteEndpoint } from "./remote/endpoint.js";
import { RemoteSession } from "./remote/remote-session.js";
import { computesExactly, createContext, gpuReport, loadBackend, loadModel, planOffload, reuseMargin } from "./runtime.js";
import { decideStep, type StepDecision } from "./policies.js";
import { lookupCalibration, type CalibrationLookup } from "./calibration/calibration-file.js";
import { modelIdentity, type PairIdentity } from "./calibration/pair-identity.js";
import { RequestRun, stepRecord } from "./request-run.js";
import { planTokenSpeculation } from "./token-speculation.js";
import { chooseMethod, DEFAULT_STEP_TOKENS } from "./cost/method-choice.js";
import { measuredRates } from "./cost/measured-pairs.js";
import type { MethodChoice, ModelCost, PairCost, PairRates } from "./cost/types.js";
import type {
  EngineEvent,
  FinishReason,
  GpuReport,
  LoadProgress,
  ModelConfig,
  ModelMeter,
  ModelRole,
  ReasonOptions,
  ReasonResult,
  ResolvedReasonOptions,
  RemoteMeter,
  RouterChoice,
  RunStats,
  ScorerChoice,
  StepRecord,
} from "./types.js";

export interface CreateOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /**
   * Where router calibrations live (src/engine/calibration): the confidence router uses this
   * pair's calibrated weights when the folder holds them. Unset: the default weights, no lookup.
   */
  calibrationDir?: string;
}

export interface ReasonHooks {
  onEvent?: (e: EngineEvent) => void;
  signal?: AbortSignal;
  /** In-process only: oracle rollouts for router calibration (src/engine/calibration/calibrate.ts). */
  rollout?: RolloutHooks;
}

/**
 * Calibration's view of an oracle run: the draft writes every step with its token confidences
 * (the router's features), `scorer` (when given) judges both candidates instead of the configured
 * scorer, and every kept step's candidates are shown to `onStep` before the next step starts.
 */
export interface RolloutHooks {
  scorer?: StepJudge;
  onStep: (index: number, decision: StepDecision) => void;
}

export interface EngineInfo {
  draft: { path: string; sizeBytes: number; architecture: string };
  target: { path: string; sizeBytes: number; architecture: string };
  router: string;
  scorer: string;
  sameTokenizer: boolean;
  /**
   * The target computes a batch exactly as one token at a time (the embedded models' F32 settings):
   * token speculation and prefix reuse then give the target's own text by construction. On
   * quantized kernels a batch-written cache can tip a later near-tie, so they agree with the
   * target's own decoding almost always, not always (measured: bench/README.md).
   */
  exactBatches: boolean;
  contextSize: number;
  /** The backend the models run on, the layers each offloaded, and why not a GPU when it fell back. */
  gpu: GpuReport;
  threads: number;
  warnings: string[];
  /** The models that run on a serving engine: its URL and the model name sent. */
  remote: Partial<Record<ModelRole, { url: string; model: string | undefined; api: string }>>;
}

interface LoadedGenerator {
  check: ModelFileCheck;
  /** The model here (for a remote model: its vocabulary only, for prompts and tokens). */
  model: LlamaModel;
  session: GeneratingSession;
}

interface LoadedJudge {
  judge: StepJudge;
  /** Classifier judges read text in their own tokenizer; null for model-free judges. */
  check: ModelFileCheck | null;
  model: LlamaModel | null;
  /** The judge shares the generators' vocabulary: committed token ids pass as they are (no re-tokenising). */
  sharesTokenizer: boolean;
}

function resolvePath(value: string, role: "draft" | "target"): string {
  return value === "embedded" ? embeddedModelPath(role) : value;
}

/** Two models share a tokenizer when their vocabularies and tokenizer types are identical: token ids can then be passed as they are. */
function sameTokenizer(a: ModelFileCheck, b: ModelFileCheck): boolean {
  if (a.path === b.path) return true;
  const ta = (a.info.metadata as { tokenizer?: { ggml?: Record<string, unknown> } }).tokenizer?.ggml;
  const tb = (b.info.metadata as { tokenizer?: { ggml?: Record<string, unknown> } }).tokenizer?.ggml;
  if (!ta || !tb || ta.model !== tb.model || ta.pre !== tb.pre) return false;
  const va = ta.tokens as unknown[] | undefined;
  const vb = tb.tokens as unknown[] | undefined;
  if (!va || !vb || va.length !== vb.length) return false;
  for (let i = 0; i < va.length; i++) if (va[i] !== vb[i]) return false;
  const ma = (ta.merges as unknown[] | undefined)?.length ?? 0;
  const mb = (tb.merges as unknown[] | undefined)?.length ?? 0;
  return ma === mb && ta.bos_token_id === tb.bos_token_id && ta.eos_token_id === tb.eos_token_id;
}

/**
 * The step-level speculation engine: a draft and a target model, a router and a scorer, and
 * one loop that generates an answer step by step and asks the policy who writes each step.
 * Requests run one at a time (each model has one sequence); further calls wait their turn.
 */
export class ArbitrageEngine {
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    readonly config: ModelConfig,
    private readonly llama: Llama,
    private readonly draft: LoadedGenerator,
    private readonly target: LoadedGenerator,
    readonly sameTokenizer: boolean,
    readonly warnings: string[],
    /** The two models' identities, which router calibrations are keyed by. */
    readonly pair: PairIdentity,
    /** The confidence router's weights for this pair: calibrated, or the defaults and why. */
    readonly calibration: CalibrationLookup,
  ) {}

  /** Where the models run (set once every model of the engine is loaded). */
  gpu!: GpuReport;

  /** Routers and scorers, loaded once per choice and kept: a request may pick any of them. */
  private readonly judges = new Map<string, Promise<LoadedJudge>>();
  private readonly models = new Set<LlamaModel>();

  static async create(partialConfig: unknown, opts: CreateOptions = {}): Promise<ArbitrageEngine> {
    let config = validateModelConfig(partialConfig);
    const { onProgress, signal } = opts;
    const draftPath = resolvePath(config.draft, "draft");
    const targetPath = resolvePath(config.target, "target");
    const draftCheck = await checkModelFile(draftPath, "Draft");
    const targetCheck = draftPath === targetPath ? draftCheck : await checkModelFile(targetPath, "Target");
    const warnings: string[] = [];
    if (config.router === "embedded" && !(isEmbeddedTaskModel(draftCheck) && isEmbeddedTaskModel(targetCheck))) {
      // The embedded router was trained on the embedded pair's arithmetic steps; on any other pair its score means nothing.
      config = { ...config, router: "confidence" };
      warnings.push(
        "The embedded router is trained for the embedded demo pair only: this pair uses the confidence router (set arbitrage.router to choose another).",
      );
    }
    if (draftPath === targetPath) {
      warnings.push("The draft and target are the same model file: every step costs the same either way, so routing cannot save time.");
    }
    // Remote models are connected first: a wrong URL or model name is reported before anything loads.
    const endpoints: Partial<Record<ModelRole, RemoteEndpoint>> = {};
    for (const role of ["draft", "target"] as const) {
      const remote = config.remote?.[role];
      if (!remote) continue;
      const warning = plainHttpWarning(role, remote.url);
      if (warning) warnings.push(warning);
      endpoints[role] = await connect(role, remote, signal);
    }
    const backend = await loadBackend(config.gpu, config.threads);
    const { llama } = backend;
    // A fallback to the CPU is said once per engine, like every other load-time warning.
    if (backend.fallbackReason) warnings.push(backend.fallbackReason);
    const progress = (role: LoadProgress["role"], path: string) => (p: number) => onProgress?.({ role, path, progress: p });

    // A remote model's file gives only its vocabulary (prompt format and tokens); its weights stay on the server.
    const shared = draftPath === targetPath && !endpoints.draft === !endpoints.target;
    const local = { ...(endpoints.draft ? {} : { draft: draftCheck }), ...(endpoints.target ? {} : { target: targetCheck }) };
    const plan = await planOffload(llama, config, local);
    const withLayers = (role: ModelRole) => ({ ...config, gpuLayers: plan.gpuLayers[role] });
    // The target loads first: with "auto" layers on a GPU it is the one whose offload matters most (gpu-split.ts).
    const targetModel = await loadModel(
      llama,
      targetCheck,
      "target",
      withLayers("target"),
      progress("target", targetPath),
      signal,
      endpoints.target !== undefined,
    );
    const draftModel = shared
      ? targetModel
      : await loadModel(llama, draftCheck, "draft", withLayers("draft"), progress("draft", draftPath), signal, endpoints.draft !== undefined).catch(
          async (e: unknown) => {
            await targetModel.dispose();
            throw e;
          },
        );
    let engine: ArbitrageEngine | null = null;
    try {
      const draft = await ArbitrageEngine.generator("draft", draftCheck, draftModel, config, endpoints.draft);
      const target = await ArbitrageEngine.generator("target", targetCheck, targetModel, config, endpoints.target);
      const same = sameTokenizer(draftCheck, targetCheck);
      if (!same) warnings.push("The draft and target tokenizers differ: committed text is re-tokenised at step boundaries and prefix reuse is off.");
      const pair = { draft: await modelIdentity(draftCheck), target: await modelIdentity(targetCheck) };
      const calibration = opts.calibrationDir
        ? await lookupCalibration(opts.calibrationDir, pair)
        : ({ kind: "none", description: "confidence, default weights", notice: null } as const);
      // Only a pair that routes with the confidence router needs to hear that its calibration is missing or unusable.
      if (config.router === "confidence" && calibration.kind === "none" && calibration.notice) warnings.push(calibration.notice);
      engine = new ArbitrageEngine(config, llama, draft, target, same, warnings, pair, calibration);
      engine.models.add(draftModel).add(targetModel);
      // The configured router and scorer load now, with progress, so the first request does not wait for them.
      // A judge that fails to load is reported by the first request that needs it (a broken PRM must not block
      // arbitrage, which never asks it).
      await engine.judgeFor("router", config.router, progress, signal).catch(() => undefined);
      await engine.judgeFor("scorer", config.scorer, progress, signal).catch(() => undefined);
      const localModels = Object.fromEntries(Object.keys(local).map((role) => [role, role === "draft" ? draftModel : targetModel]));
      engine.gpu = await gpuReport(backend, config.gpu, localModels, plan.split);
      return engine;
    } catch (e) {
      await Promise.all([...new Set([draftModel, targetModel, ...(engine?.models ?? [])])].map((m) => m.dispose()));
      throw e;
    }
  }

  private static async generator(
    role: ModelRole,
    check: ModelFileCheck,
    model: LlamaModel,
    config: ModelConfig,
    endpoint: RemoteEndpoint | undefined,
  ): Promise<LoadedGenerator> {
    if (endpoint) {
      const localVocab = check.info.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
      if (endpoint.vocabSize !== undefined && localVocab > 0 && endpoint.vocabSize !== localVocab) {
        throw new ArbitrageError(
          "remote-unknown-model",
          `The ${endpoint.http.label} serves a model with a ${endpoint.vocabSize}-token vocabulary, but the local ${role} file ${JSON.stringify(check.path)} has ${localVocab}: they are not the same model. Point the ${role} model file at a copy of the served model (a vocabulary-only GGUF is enough).`,
        );
      }
      const contextSize = Math.min(config.contextSize, endpoint.contextSize ?? config.contextSize);
      return { check, model, session: new RemoteSession(role, model, endpoint, contextSize) };
    }
    const context = await createContext(model, check, config, role);
    return { check, model, session: new ModelSession(role, model, context, context.getSequence(), reuseMargin(check)) };
  }

  /** The judge for a router/scorer choice, loaded on first use and then kept. */
  private judgeFor(
    kind: "router" | "scorer",
    choice: RouterChoice | ScorerChoice,
    progress?: (role: LoadProgress["role"], path: string) => (p: number) => void,
    signal?: AbortSignal,
  ): Promise<LoadedJudge> {
    const key = `${kind}:${JSON.stringify(choice)}`;
    let loaded = this.judges.get(key);
    if (!loaded) {
      loaded = this.loadJudge(kind, choice, progress, signal);
      this.judges.set(key, loaded);
      loaded.catch(() => this.judges.delete(key));
    }
    return loaded;
  }

  private async loadJudge(
    kind: "router" | "scorer",
    choice: RouterChoice | ScorerChoice,
    progress?: (role: LoadProgress["role"], path: string) => (p: number) => void,
    signal?: AbortSignal,
  ): Promise<LoadedJudge> {
    if (choice === "confidence") {
      const weights = this.calibration.kind === "calibrated" ? this.calibration.weights : undefined;
      return { judge: new ConfidenceJudge(weights), check: null, model: null, sharesTokenizer: false };
    }
    if (choice === "exact") return { judge: new ExactArithmeticJudge(), check: null, model: null, sharesTokenizer: false };
    if (choice === "random") return { judge: new RandomJudge(), check: null, model: null, sharesTokenizer: false };
    const path = choice === "embedded" ? embeddedModelPath(kind === "router" ? "router" : "prm") : choice.path;
    const label = kind === "router" ? "Router" : "Scorer";
    const check = await checkModelFile(path, label);
    const spec = classifierSpecFromMetadata(check.arbitrage, path);
    if (kind === "scorer" && check.arbitrage.role === "router") {
      // A router answers P(the target's step is better), not P(the step is correct): as a scorer its number means something else.
      throw new ArbitrageError(
        "invalid-option",
        `${JSON.stringify(path)} is a router (arbitrage.role = "router"), not a step scorer. Use it as the router, and "embedded", "exact" or a PRM GGUF as the scorer.`,
        { path: ["scorer"] },
      );
    }
    const model = await loadModel(this.llama, check, label.toLowerCase(), this.config, progress?.(kind, path), signal);
    this.models.add(model);
    const context = await createContext(model, check, this.config, label.toLowerCase(), "classify");
    const session = new ClassifierSession(model, context.getSequence(), spec);
    const name = choice === "embedded" ? (kind === "router" ? "embedded router" : "embedded PRM") : path;
    const sharesTokenizer = this.sameTokenizer && sameTokenizer(check, this.draft.check);
    return { judge: new ModelJudge(name, session, sharesTokenizer, kind), check, model, sharesTokenizer };
  }

  info(): EngineInfo {
    return {
      draft: { path: this.draft.check.path, sizeBytes: this.draft.check.sizeBytes, architecture: this.draft.check.architecture },
      target: { path: this.target.check.path, sizeBytes: this.target.check.sizeBytes, architecture: this.target.check.architecture },
      router: this.describeRouter(this.config.router),
      scorer: describeJudge(this.config.scorer, "scorer"),
      sameTokenizer: this.sameTokenizer,
      exactBatches: computesExactly(this.target.check),
      contextSize: Math.min(this.draft.session.contextSize, this.target.session.contextSize),
      gpu: this.gpu,
      threads: this.config.threads,
      warnings: this.warnings,
      remote: Object.fromEntries(
        [this.draft, this.target]
          .filter((g) => g.session instanceof RemoteSession)
          .map((g) => {
            const e = (g.session as RemoteSession).endpoint;
            return [g.session.role, { url: e.http.baseUrl, model: e.model, api: e.dialect }];
          }),
      ),
    };
  }

  /** What routes a request: a file path, the embedded router, or the confidence router and where its weights come from. */
  private describeRouter(choice: RouterChoice): string {
    return choice === "confidence" ? this.calibration.description : describeJudge(choice, "router");
  }

  /**
   * A second context on a loaded generating model, for calibration's outcome labels (a step is
   * continued to a final answer without touching the request's own caches). Made once per role.
   */
  forkGenerator(role: ModelRole): Promise<LoadedGenerator> {
    let fork = this.forks.get(role);
    if (!fork) {
      const g = role === "draft" ? this.draft : this.target;
      // A remote model's fork is one more stateless session on the same server.
      fork = ArbitrageEngine.generator(role, g.check, g.model, this.config, g.session instanceof RemoteSession ? g.session.endpoint : undefined);
      this.forks.set(role, fork);
      fork.catch(() => this.forks.delete(role));
    }
    return fork;
  }
  private readonly forks = new Map<ModelRole, Promise<LoadedGenerator>>();

  /** Runs one request after the ones already queued. */
  reason(question: unknown, options?: unknown, hooks: ReasonHooks = {}): Promise<ReasonResult> {
    const run = this.queue.then(() => this.run(question, options, hooks));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The step loop (arXiv 2512.05033, Algorithm 1): for each step the policy decides who writes it —
   * for arbitrage the draft writes, the router predicts the target's advantage, and only above the
   * threshold does the target rewrite the step; the chosen step is committed, the other model
   * catches up on it lazily, until the answer ends.
   */
  private async run(questionInput: unknown, optionsInput: unknown, hooks: ReasonHooks): Promise<ReasonResult> {
    if (this.disposed) throw new ArbitrageError("internal", "The engine was disposed.");
    const question = validateQuestion(questionInput);
    const requested = validateReasonOptions(optionsInput);
    const { signal } = hooks;
    if (signal?.aborted) throw cancelledError();
    const emit = (e: EngineEvent) => hooks.onEvent?.(e);
    const started = performance.now();
    const { options, choice } = await this.resolvePolicy(requested, question);
    const { request, judges, router, scorer, warnings, notices } = await this.begin(question, options, signal, emit, hooks.rollout, choice);

    const steps: StepRecord[] = [];
    let finishReason: FinishReason = "max-steps";
    try {
      try {
        for (let index = 0; index < options.maxSteps; index++) {
          const stepStarted = performance.now();
          const decision = await decideStep(options, request.ops(index));
          const closed = await request.close(decision, index);
          if (closed !== "kept") {
            finishReason = closed === "cancelled" ? "cancelled" : "eos";
            break;
          }
          hooks.rollout?.onStep(index, decision);
          this.commitElsewhere(decision.chosen, judges);
          const record = stepRecord(index, decision, stepStarted);
          steps.push(record);
          emit({ type: "step-decided", step: record });
          const end = request.answerEnd(decision.chosen);
          if (end) {
            finishReason = end;
            break;
          }
        }
      } catch (e) {
        // A failure part-way (a remote server's error) ends the request; the committed answer so far travels with the error.
        if (isArbitrageError(e) && steps.length > 0) e.partial = { steps: steps.length, text: steps.map((s) => s.text).join("") };
        throw e;
      }
    } finally {
      // A next step still being written when the answer ends is not needed.
      await request.speculation.drop();
    }

    const text = steps.map((s) => s.text).join("");
    const result: ReasonResult = {
      question,
      policy: options.policy,
      threshold: options.threshold,
      steps,
      text,
      answer: extractFinalAnswer(text, options.finalAnswerMarker),
      finishReason,
      stats: this.stats(
        steps,
        started,
        { ...request.wasted, draftSpeculativeDiscarded: request.speculation.discardedTokens },
        request.verification,
        request.clock.busyMs,
        request.judgeCriticalMs,
        router,
        scorer,
      ),
    };
    if (options.policy === "arbitrage") result.stats.router = this.describeRouter(options.router ?? this.config.router);
    result.stats.gpu = this.gpu;
    if (choice) result.stats.choice = { reason: choice.reason, predictedMsPerToken: choice.predictedMsPerToken };
    const callCosts = this.callCosts();
    if (Object.keys(callCosts).length > 0) result.stats.callCosts = callCosts;
    this.learnRates(result, options);
    if (warnings.length > 0) result.warnings = warnings;
    if (notices.length > 0) result.notices = notices;
    emit({ type: "finished", result });
    return result;
  }

  /** A request's start: its judges, every model's prompt (checked against its context), fresh caches, and the run-started event. */
  private async begin(
    question: string,
    options: ResolvedReasonOptions,
    signal: AbortSignal | undefined,
    emit: (e: EngineEvent) => void,
    rollout?: RolloutHooks,
    choice?: MethodChoice,
  ) {
    const { draft, target } = this;
    const routerJudge = options.policy === "arbitrage" ? await this.judgeFor("router", options.router ?? this.config.router) : null;
    const scorerJudge =
      options.policy === "rsd" || options.policy === "oracle"
        ? rollout?.scorer
          ? { judge: rollout.scorer, check: null, model: null, sharesTokenizer: false }
          : await this.judgeFor("scorer", options.scorer ?? this.config.scorer)
        : null;
    const prompts = {
      draft: buildPrompt(draft.model, draft.check, question, options.promptStyle),
      target: buildPrompt(target.model, target.check, question, options.promptStyle),
    };
    for (const g of [draft, target]) {
      const p = prompts[g.session.role];
      if (p.tokens.length >= g.session.contextSize - 8) {
        throw new ArbitrageError(
          "question-too-long",
          `The question takes ${p.tokens.length} tokens, but the ${g.session.role} model's context holds ${g.session.contextSize}. Shorten the question or raise arbitrage.contextSize.`,
        );
      }
    }
    await draft.session.reset(prompts.draft.tokens);
    await target.session.reset(prompts.target.tokens);
    const judges = [routerJudge, scorerJudge].filter((j): j is LoadedJudge => j !== null);
    for (const j of judges) {
      const promptTokens = () => (j.model && j.check ? buildPrompt(j.model, j.check, question, options.promptStyle).tokens : []);
      await j.judge.begin({ question, promptTokens, delimiter: options.stepDelimiter });
    }
    const tokenSpec = planTokenSpeculation(options, { draft: draft.session, target: target.session }, this.sameTokenizer);
    const warnings = embeddedTaskWarnings(question, [draft.check, target.check]);
    // Token speculation off changes the timing, not the answer: a notice, not a warning against the answer.
    const notices = tokenSpec.notice ? [tokenSpec.notice] : [];
    emit({
      type: "run-started",
      question,
      policy: options.policy,
      threshold: options.threshold,
      prompt: prompts.target.text,
      ...(warnings.length > 0 ? { warnings } : {}),
      ...(notices.length > 0 ? { notices } : {}),
      ...(choice ? { choice: choice.reason } : {}),
    });
    const router = routerJudge?.judge;
    const scorer = scorerJudge?.judge;
    const request = new RequestRun({
      options,
      sessions: { draft: draft.session, target: target.session },
      prompts,
      router,
      scorer,
      sameTokenizer: this.sameTokenizer,
      draftConfidences: rollout !== undefined,
      tokenSpeculation: tokenSpec.speculation,
      signal,
      emit,
    });
    return { request, judges, router, scorer, warnings, notices };
  }

  /** Hands committed text to every model that did not write it; they evaluate it lazily. */
  private commitElsewhere(step: CandidateStep, judges: LoadedJudge[]): void {
    const other = step.model === "draft" ? this.target : this.draft;
    other.session.appendCommitted(this.sameTokenizer ? step.tokens : other.model.tokenize(step.text, false, "trimLeadingSpace"));
    for (const j of judges) {
      j.judge.commit(step.text, () => (j.sharesTokenizer ? step.tokens : j.model ? j.model.tokenize(step.text, false, "trimLeadingSpace") : []));
    }
  }

  private stats(
    steps: StepRecord[],
    started: number,
    speculation: { targetTokensDiscarded: number; targetVerifyWasted: number; draftSpeculativeDiscarded: number },
    verification: RunStats["verification"],
    busyMs: number,
    judgeCriticalMs: number,
    router: StepJudge | undefined,
    scorer: StepJudge | undefined,
  ): RunStats {
    const meter = (g: LoadedGenerator): ModelMeter => ({
      generated: g.session.meter.generated,
      evaluated: g.session.meter.evaluated,
      discarded: g.session.meter.discarded,
      committed: g.session.committedTokens.length,
      ms: g.session.meter.ms,
    });
    const count = (role: ModelRole, f: (s: StepRecord) => number) => steps.filter((s) => s.model === role).reduce((a, s) => a + f(s), 0);
    const wallMs = performance.now() - started;
    const routerMs = router?.meter.ms ?? 0;
    const scorerMs = scorer?.meter.ms ?? 0;
    const meters = { draft: meter(this.draft), target: meter(this.target) };
    const remote: Partial<Record<ModelRole, RemoteMeter>> = {};
    for (const g of [this.draft, this.target]) {
      if (!g.session.remote) continue;
      // A target-only run would have had the server write every committed step; the draft's steps were written here instead.
      remote[g.session.role] = { ...g.session.remote, tokensSaved: g.session.role === "target" ? count("draft", (s) => s.tokens) : 0 };
    }
    return {
      steps: steps.length,
      stepsByModel: { draft: count("draft", () => 1), target: count("target", () => 1) },
      tokensByModel: { draft: count("draft", (s) => s.tokens), target: count("target", (s) => s.tokens) },
      draftTokensDiscarded: steps.reduce((a, s) => a + s.draftTokensDiscarded, 0) + speculation.draftSpeculativeDiscarded,
      targetTokensDiscarded: speculation.targetTokensDiscarded,
      targetVerifyWasted: speculation.targetVerifyWasted,
      targetTokensReused: steps.reduce((a, s) => a + s.targetTokensReused, 0),
      verification: { ...verification },
      routerCalls: router?.meter.calls ?? 0,
      routerMs,
      scorerCalls: scorer?.meter.calls ?? 0,
      scorerMs,
      judgeCriticalMs,
      meters,
      ...(Object.keys(remote).length > 0 ? { remote } : {}),
      wallMs,
      overheadMs: Math.max(0, wallMs - busyMs),
    };
  }

  /**
   * `policy: "auto"`: the method this pair runs fastest on this machine by the cost model
   * (cost/method-choice.ts), from each model's measured call costs — a short probe at the first
   * such request, then the requests' own calls — and how routing and token speculation behave on
   * the pair (measured by the project's bench for known pairs, then by this engine's requests).
   * A model on a server has no cost measured here: the target alone runs, never a guess.
   */
  private async resolvePolicy(requested: ReasonOptions, question: string): Promise<{ options: ResolvedReasonOptions; choice?: MethodChoice }> {
    if (requested.policy !== "auto") return { options: requested as ResolvedReasonOptions };
    const routerChoice = requested.router ?? this.config.router;
    // A broken router is reported as for a routed request, even where auto would not route.
    await this.judgeFor("router", routerChoice);
    const cost = await this.pairCost(question, requested);
    const routerName = typeof routerChoice === "object" ? "file" : routerChoice;
    const fitted: true | string =
      routerChoice === "embedded" || typeof routerChoice === "object" || this.calibration.kind === "calibrated"
        ? true
        : "the confidence router is not calibrated for this pair: run `arbitrage calibrate`";
    const speculationCheck = planTokenSpeculation(
      { ...requested, policy: "speculative" },
      { draft: this.draft.session, target: this.target.session },
      this.sameTokenizer,
    );
    if (cost === null) {
      const reason = "auto chose the target alone: a model runs on a server, whose cost per token is not measured here (choose a policy to route).";
      return {
        options: { ...requested, policy: "target" },
        choice: { policy: "target", draftTokens: requested.draftTokens, reason, predictedMsPerToken: {}, cost: null },
      };
    }
    const choice = chooseMethod({
      cost,
      rates: this.ratesFor(routerName, requested.threshold),
      speculation: speculationCheck.speculation ? true : (speculationCheck.whyNot ?? "not available"),
      routing: fitted,
      threshold: requested.threshold,
      draftTokens: requested.draftTokens,
    });
    return { options: { ...requested, policy: choice.policy, draftTokens: choice.draftTokens }, choice };
  }

  /** Both local models' call costs: measured by earlier requests, or probed now on the question's prompt. */
  private async pairCost(question: string, options: ReasonOptions): Promise<PairCost | null> {
    const costs: Partial<Record<ModelRole, ModelCost>> = {};
    let probed = false;
    for (const g of [this.draft, this.target]) {
      if (!(g.session instanceof ModelSession)) return null;
      let cost = g.session.calls.cost();
      if (cost === null || cost.decodeCalls < PROBE_DECODES) {
        const prompt = buildPrompt(g.model, g.check, question, options.promptStyle).tokens;
        await g.session.measureCost(prompt.slice(0, Math.min(prompt.length, this.probeBatch(g.session))), PROBE_DECODES);
        cost = g.session.calls.cost();
        probed = true;
      }
      if (cost === null) return null;
      costs[g.session.role] = cost;
    }
    const router = this.routerCalls.calls > 0 ? this.routerCalls.ms / this.routerCalls.calls : null;
    return { draft: costs.draft!, target: costs.target!, routerMs: router, source: probed ? "probe" : "runs" };
  }

  private probeBatch(session: ModelSession): number {
    return Math.max(2, Math.min(PROBE_BATCH, session.contextSize - PROBE_DECODES - 2));
  }

  /** Each local model's fitted call cost so far. */
  private callCosts(): NonNullable<RunStats["callCosts"]> {
    const out: NonNullable<RunStats["callCosts"]> = {};
    for (const g of [this.draft, this.target]) {
      const cost = g.session instanceof ModelSession ? g.session.calls.cost() : null;
      if (cost) out[g.session.role] = { decodeMs: cost.decodeMs, batchTokenMs: cost.batchTokenMs };
    }
    return out;
  }

  /** The router's keep share and token speculation's acceptance on this pair: this engine's own requests first, then the project's measurements. */
  private ratesFor(router: string, threshold: number): PairRates | null {
    const shipped = measuredRates(this.pair, router);
    // This threshold's own observations, else the project's, else the nearest threshold this engine observed.
    const observedAt = [...this.observed.keep.entries()]
      .filter(([k]) => k.startsWith(`${router}@`))
      .map(([k, v]) => ({ at: Number(k.slice(router.length + 1)), ...v }))
      .sort((a, b) => Math.abs(a.at - threshold) - Math.abs(b.at - threshold));
    const own = observedAt[0]?.at === threshold || (!shipped?.keepShare && observedAt.length > 0) ? observedAt[0] : undefined;
    const acceptance = this.observed.proposed >= 32 ? this.observed.accepted / this.observed.proposed : (shipped?.acceptance ?? null);
    if (!shipped && !own && acceptance === null) return null;
    return {
      keepShare: own ? own.kept / own.steps : (shipped?.keepShare ?? null),
      keepThreshold: own ? own.at : (shipped?.keepThreshold ?? null),
      acceptance,
      reuseShare: own && own.targetTokens > 0 ? own.reused / own.targetTokens : (shipped?.reuseShare ?? null),
      stepTokens: own ? own.tokens / own.steps : (shipped?.stepTokens ?? DEFAULT_STEP_TOKENS),
      source: own ? "this session's requests" : (shipped?.source ?? "this session's requests"),
    };
  }

  /** What a finished request teaches the cost model: the router's keep share, speculation's acceptance, the router's cost. */
  private learnRates(result: ReasonResult, options: ResolvedReasonOptions): void {
    const s = result.stats;
    this.routerCalls.calls += s.routerCalls;
    this.routerCalls.ms += s.routerMs;
    if (options.policy === "arbitrage" && s.steps > 0) {
      const router = options.router ?? this.config.router;
      const key = `${typeof router === "object" ? "file" : router}@${options.threshold}`;
      const seen = this.observed.keep.get(key) ?? { kept: 0, steps: 0, tokens: 0, reused: 0, targetTokens: 0 };
      seen.kept += s.stepsByModel.draft;
      seen.steps += s.steps;
      seen.tokens += s.tokensByModel.draft + s.tokensByModel.target;
      seen.reused += s.targetTokensReused;
      seen.targetTokens += s.tokensByModel.target;
      this.observed.keep.set(key, seen);
    }
    this.observed.proposed += s.verification.freshProposed;
    this.observed.accepted += s.verification.freshAccepted;
  }
  private readonly observed = {
    keep: new Map<string, { kept: number; steps: number; tokens: number; reused: number; targetTokens: number }>(),
    proposed: 0,
    accepted: 0,
  };
  private readonly routerCalls = { calls: 0, ms: 0 };

  /**
   * What each model's cache holds now versus its committed text: after any request (finished,
   * failed or cancelled) the cache must be a prefix of the committed tokens, missing at most the
   * pending newest one. The engine tests check it after every kind of request.
   */
  cacheState(): Record<ModelRole, { cached: number; committed: number; consistent: boolean }> {
    return { draft: this.draft.session.cacheState(), target: this.target.session.cacheState() };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.catch(() => undefined);
    await Promise.allSettled([...this.judges.values(), ...this.forks.values()]);
    await Promise.all([...this.models].map((m) => m.dispose()));
  }
}

/** The probe's batch (tokens of the question's prompt) and decoded tokens: about a second for a 1.5B model on one core. */
const PROBE_BATCH = 32;
const PROBE_DECODES = 8;

function describeJudge(choice: RouterChoice | ScorerChoice, kind: "router" | "scorer"): string {
  if (typeof choice === "object") return choice.path;
  if (choice === "embedded") return kind === "router" ? "embedded router" : "embedded PRM";
  return choice;
}

/** Checks a question before anything is loaded or run (shared with the CLI, which checks before loading models). */
export function validateQuestion(input: unknown): string {
  if (typeof input !== "string") throw new ArbitrageError("empty-question", "The question must be text.");
  if (input.trim() === "") throw new ArbitrageError("empty-question", "The question is empty. Type a question, or select text in the editor first.");
  if (input.includes("\u0000"))
    throw new ArbitrageError("invalid-question", "The question contains NUL characters (binary data?). Remove them and try again.");
  if (!input.isWellFormed())
    throw new ArbitrageError("invalid-question", "The question is not valid Unicode text (broken UTF-16 surrogates). Re-enter it as plain text.");
  return input;
}

export type { Token };
