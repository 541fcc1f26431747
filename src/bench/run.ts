import { ArbitrageEngine, type ModelMeter, type ModelRole, type ReasonResult } from "../engine/index.js";
import type { CallCosts } from "../engine/cost/predict.js";
import { CodeSandbox, USER_MODE_NOTE } from "./code-sandbox.js";
import type { CodeTask } from "./code-task.js";
import { gradeCodeAnswer } from "./humaneval.js";
import { engineKey, type Method } from "./methods.js";
import { answerMatches, type Problem } from "./problems.js";

/** One (method, threshold) setting of the sweep. */
export interface BenchConfig {
  method: Method;
  /** null for methods without a threshold (target, draft). */
  threshold: number | null;
}

/** The figures kept from one run of one config on one problem. */
export interface RunRecord {
  config: number;
  problem: number;
  /** The answer matches the reference, or (code problems) the code passed the problem's tests. */
  correct: boolean;
  /** Code problems only: why the tests failed, naming any sandbox limit reached (null: they passed). */
  testFailure?: string | null;
  answer: string | null;
  finishReason: string;
  /** Wall time around `engine.reason` as the caller sees it (ms). */
  wallMs: number;
  /** Time inside each model's evaluation calls (ms); they may overlap (the next draft step is written while a step is judged). */
  modelMs: Record<ModelRole, number>;
  /**
   * Engine overhead (ms): the engine's own busy-clock overhead (wall time during which no model,
   * router or scorer was working) plus the time between our call and the engine's own clock.
   */
  overheadMs: number;
  routerMs: number;
  scorerMs: number;
  /** Router and scorer calls. */
  judgeCalls: number;
  /** Router and scorer time on the critical path (stats.judgeCriticalMs). */
  judgeCriticalMs: number;
  steps: Record<ModelRole, number>;
  tokens: Record<ModelRole, number>;
  draftTokensDiscarded: number;
  targetTokensReused: number;
  /** Who wrote each step, e.g. "ddtd" (settings with the same routes on every problem made the same decisions). */
  route: string;
  meters: Record<ModelRole, ModelMeter>;
  /**
   * Tokens of rejected draft steps that went through the draft's forward pass: a step of n
   * sampled tokens feeds n − 1 of them (the last is sampled, never fed). The method's intended
   * speculation, as opposed to the engine's own re-evaluation.
   */
  rejectedDraftEvaluated: number;
  /** The same for the target's unchosen steps (oracle only). */
  rejectedTargetEvaluated: number;
  /** Draft tokens the target verified but did not keep (prefix reuse, token-level speculation). */
  targetVerifyWasted: number;
  /** Each model's call costs as the engine had fitted them after this run (stats.callCosts). */
  callCosts?: CallCosts;
  /** The target's batch checks (stats.verification): rounds, fresh draft proposals made and kept. */
  verification: { rounds: number; freshProposed: number; freshAccepted: number };
  /**
   * Oracle only: what the oracle's routing costs when its knowledge is free: the wall time minus
   * the target's time on steps it did not choose (the target writes every step to be compared)
   * and minus the scorer's time. See README "oracle frontier".
   */
  routingCostMs?: number;
}

export interface PrefixReuseRecord {
  problem: number;
  identical: boolean;
  on: { wallMs: number; targetGenerated: number; targetEvaluated: number; targetReused: number; targetSteps: number };
  off: { wallMs: number; targetGenerated: number; targetEvaluated: number; targetSteps: number };
}

export interface RequestOptions {
  speculativeDraft?: boolean;
  maxSteps?: number;
  maxTokensPerStep?: number;
  temperature?: number;
  promptStyle?: string;
}

export interface ProgressEvent {
  done: number;
  total: number;
  phase: "loading" | "warm-up" | "measuring" | "prefix-reuse";
  detail: string;
}

/**
 * The bench's engine: the draft and target are loaded once; each method names its router and
 * scorer per request (the engine loads a judge on first use and keeps it), so every method runs
 * on the same model instances. `preload` runs each judge once before anything is measured.
 */
export class BenchEngines {
  private sandbox: Promise<CodeSandbox> | null = null;

  private constructor(private readonly engine: ArbitrageEngine) {}

  /**
   * Grades a code problem's record by the problem's tests, run in the sandbox (created on first
   * use, so a bench without code problems never needs one). Outside the measured wall time.
   */
  async gradeCode(rec: RunRecord, task: CodeTask, answerText: string): Promise<void> {
    const result = await gradeCodeAnswer(await this.codeSandbox(), task, answerText);
    rec.correct = result.passed;
    rec.testFailure = result.passed ? null : result.reason;
  }

  static async load(baseConfig: Record<string, unknown>, onProgress?: (e: ProgressEvent) => void, calibrationDir?: string): Promise<BenchEngines> {
    onProgress?.({ done: 0, total: 1, phase: "loading", detail: "models" });
    return new BenchEngines(await ArbitrageEngine.create(baseConfig, { calibrationDir }));
  }

  private codeSandbox(): Promise<CodeSandbox> {
    this.sandbox ??= CodeSandbox.create().then((s) => {
      if (s.mode === "user") process.stderr.write(`arbitrage: note: ${USER_MODE_NOTE}\n`);
      return s;
    });
    return this.sandbox;
  }

  /**
   * Loads every judge the methods use (one unrecorded run each), so no measured run pays a model
   * load; and for code problems checks the sandbox first, so a machine without one fails now.
   */
  async preload(methods: readonly Method[], problem: Problem, request: RequestOptions): Promise<void> {
    if (problem.code) await this.codeSandbox();
    const seen = new Set<string>();
    for (const m of methods) {
      if (m.policy === "target" || m.policy === "draft" || m.policy === "speculative") continue;
      const key = engineKey(m);
      if (seen.has(key)) continue;
      seen.add(key);
      await this.engine.reason(problem.question, requestFor({ method: m, threshold: 0.5 }, request));
    }
  }

  for(_m: Method): ArbitrageEngine {
    return this.engine;
  }

  first(): ArbitrageEngine {
    return this.engine;
  }

  async dispose(): Promise<void> {
    await this.engine.dispose();
  }
}

function requestFor(c: BenchConfig, extra: RequestOptions, prefixReuse = true): Record<string, unknown> {
  const m = c.method;
  const judges: Record<string, unknown> = {};
  if (m.policy === "arbitrage") judges.router = m.router;
  if (m.policy === "rsd" || m.policy === "oracle") judges.scorer = m.scorer;
  return { ...extra, ...judges, ...m.options, policy: m.policy, threshold: c.threshold ?? 0, prefixReuse };
}

export function recordOf(config: number, problem: number, p: Problem, r: ReasonResult, wallMs: number): RunRecord {
  const st = r.stats;
  const rec: RunRecord = {
    config,
    problem,
    correct: answerMatches(r.answer, p.answer),
    answer: r.answer,
    finishReason: r.finishReason,
    wallMs,
    modelMs: { draft: st.meters.draft.ms, target: st.meters.target.ms },
    overheadMs: st.overheadMs + Math.max(0, wallMs - st.wallMs),
    routerMs: st.routerMs,
    scorerMs: st.scorerMs,
    judgeCalls: st.routerCalls + st.scorerCalls,
    judgeCriticalMs: st.judgeCriticalMs ?? st.routerMs + st.scorerMs,
    steps: { ...st.stepsByModel },
    tokens: { ...st.tokensByModel },
    draftTokensDiscarded: st.draftTokensDiscarded,
    targetTokensReused: st.targetTokensReused,
    route: r.steps.map((s) => (s.model === "draft" ? "d" : "t")).join(""),
    meters: { draft: { ...st.meters.draft }, target: { ...st.meters.target } },
    // Rejected draft steps and next steps written speculatively behind them: each feeds all but its last sampled token;
    // and the draft's rejected token proposals (an upper bound: a round's last proposal is sampled, not fed).
    rejectedDraftEvaluated:
      Math.max(0, st.draftTokensDiscarded - 2 * r.steps.filter((s) => s.draftTokensDiscarded > 0).length) +
      (st.verification.freshProposed - st.verification.freshAccepted),
    rejectedTargetEvaluated: Math.max(0, st.targetTokensDiscarded - r.steps.filter((s) => s.model === "draft" && s.targetMs > 0).length),
    targetVerifyWasted: st.targetVerifyWasted,
    ...(st.callCosts ? { callCosts: st.callCosts } : {}),
    verification: { rounds: st.verification.rounds, freshProposed: st.verification.freshProposed, freshAccepted: st.verification.freshAccepted },
  };
  if (r.policy === "oracle") {
    const unchosenTargetMs = r.steps.filter((s) => s.model === "draft").reduce((a, s) => a + s.targetMs, 0);
    rec.routingCostMs = Math.max(0, wallMs - unchosenTargetMs - st.scorerMs);
  }
  return rec;
}

/**
 * Runs every config on every problem, interleaved problem by problem: all configs run problem i
 * (in an order rotated by i, so no config always runs first) before any runs problem i+1, so
 * machine drift hits all alike. The first `warmup` problems are run through every config first
 * and not recorded.
 */
export async function runSweep(
  engines: BenchEngines,
  configs: readonly BenchConfig[],
  problems: readonly Problem[],
  opts: { warmup: number; request: RequestOptions; onProgress?: (e: ProgressEvent) => void; extraWork?: number },
): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  const warm = problems.slice(0, Math.min(opts.warmup, problems.length));
  const total = (warm.length + problems.length) * configs.length + (opts.extraWork ?? 0);
  let done = 0;
  const pass = async (set: readonly Problem[], phase: "warm-up" | "measuring") => {
    for (const [i, p] of set.entries()) {
      for (let k = 0; k < configs.length; k++) {
        const ci = (k + i) % configs.length;
        const c = configs[ci]!;
        const engine = engines.for(c.method);
        const t0 = performance.now();
        const r = await engine.reason(p.question, requestFor(c, opts.request));
        const wall = performance.now() - t0;
        if (phase === "measuring") {
          const rec = recordOf(ci, i, p, r, wall);
          if (p.code) await engines.gradeCode(rec, p.code, r.text);
          records.push(rec);
        }
        opts.onProgress?.({ done: ++done, total, phase, detail: `${c.method.label}${c.threshold === null ? "" : ` @${c.threshold}`}` });
      }
    }
  };
  await pass(warm, "warm-up");
  await pass(problems, "measuring");
  return records;
}

/**
 * Prefix reuse on vs off for one config (normally arbitrage at its matched threshold): both runs
 * per problem, alternating which goes first. Greedy decoding must give identical text either way;
 * the saving is the target's generated (sampled one by one) tokens.
 */
export async function runPrefixReuse(
  engines: BenchEngines,
  config: BenchConfig,
  problems: readonly Problem[],
  opts: { request: RequestOptions; onProgress?: (e: ProgressEvent) => void; doneBefore: number; total: number },
): Promise<PrefixReuseRecord[]> {
  const out: PrefixReuseRecord[] = [];
  const engine = engines.for(config.method);
  let done = opts.doneBefore;
  for (const [i, p] of problems.entries()) {
    const runs: Partial<Record<"on" | "off", { r: ReasonResult; wall: number }>> = {};
    for (const which of i % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
      const t0 = performance.now();
      const r = await engine.reason(p.question, requestFor(config, opts.request, which === "on"));
      runs[which] = { r, wall: performance.now() - t0 };
      opts.onProgress?.({ done: ++done, total: opts.total, phase: "prefix-reuse", detail: `prefix reuse ${which}` });
    }
    const on = runs.on!;
    const off = runs.off!;
    out.push({
      problem: i,
      identical: on.r.text === off.r.text && on.r.steps.every((s, j) => s.model === off.r.steps[j]?.model),
      on: {
        wallMs: on.wall,
        targetGenerated: on.r.stats.meters.target.generated,
        targetEvaluated: on.r.stats.meters.target.evaluated,
        targetReused: on.r.stats.targetTokensReused,
        targetSteps: on.r.stats.stepsByModel.target,
      },
      off: {
        wallMs: off.wall,
        targetGenerated: off.r.stats.meters.target.generated,
        targetEvaluated: off.r.stats.meters.target.evaluated,
        targetSteps: off.r.stats.stepsByModel.target,
      },
    });
  }
  return out;
}
