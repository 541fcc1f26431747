/**
 * `arbitrage bench`: the accuracy-latency frontier of every policy on a problem set. Plans the
 * methods, sweeps the threshold grid, searches each method's matched point, re-runs the compared
 * settings side by side, measures prefix reuse, and writes the table, the JSON and the plot.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { checkModelFile, modelPath, validateModelConfig, type EngineInfo, type ModelConfig } from "../engine/index.js";
import { isEmbeddedTaskModel } from "../engine/prompt.js";
import { fileName } from "../shared/file-name.js";
import {
  aggregateRows,
  gridDependence,
  gridDependenceNote,
  matchedCandidates,
  refinementThresholds,
  summarise,
  matchedRow,
  type ResultRow,
  type Summary,
} from "./aggregate.js";
import {
  isSpeculativeMethod,
  planMethods,
  type BenchPolicy,
  type Method,
  type MethodPlan,
  type SkippedMethod,
  type TokenSpecMethods,
} from "./methods.js";
import { writeFrontierPlot } from "./plot.js";
import { exactCheckerApplies, type Problem } from "./problems.js";
import { progressBar } from "./progress.js";
import { BenchEngines, runPrefixReuse, runSweep, type BenchConfig, type RequestOptions, type RunRecord } from "./run.js";
import { formatReport } from "./table.js";

/** One bench run, as the command line asked for it (parsed and checked, problems read). */
export interface BenchOptions {
  problemsPath: string;
  problems: Problem[];
  policies: BenchPolicy[];
  thresholds: number[];
  tokenSpec: TokenSpecMethods;
  /** The model flags as the engine's ModelConfig input (validated before anything loads). */
  modelConfig: Record<string, unknown>;
  calibrationDir: string | undefined;
  request: RequestOptions;
  warmup: number;
  /** Rounds of the matched-point search. */
  refine: number;
  /** A path, false (--no-plot), or undefined: the embedded pair's figure only. */
  plot: string | false | undefined;
  save: string | undefined;
  json: boolean;
  title: string | undefined;
}

/** The default plot path; only the embedded pair writes there by default (its committed figure). */
export const DEFAULT_PLOT = "bench/frontier.svg";

/**
 * The matched-point search, so that no method's matched point depends on the grid. After the
 * sweep, each round runs the midpoints `refinementThresholds` names, on every problem, interleaved
 * like the sweep; the grid's rows and the new ones are then aggregated together (the frontier).
 * The two phases' latencies are not comparable (the search rotates through fewer settings), which
 * is why `matchedPass` follows. Returns the configs in method order and threshold order (the
 * table's and the plot's), the records re-indexed to them, which of them the search added, the
 * thresholds each method gained, and one note per method searched.
 */
async function refineMatchedPoints(
  engines: BenchEngines,
  methods: readonly Method[],
  gridConfigs: readonly BenchConfig[],
  gridRecords: readonly RunRecord[],
  problems: readonly Problem[],
  opts: { rounds: number; request: RequestOptions },
): Promise<{ configs: BenchConfig[]; records: RunRecord[]; searched: boolean[]; added: Record<string, number[]>; notes: string[] }> {
  let configs = [...gridConfigs];
  let records = [...gridRecords];
  const added: Record<string, number[]> = {};
  for (let round = 1; round <= opts.rounds; round++) {
    const rows = aggregateRows(configs, records);
    const target = rows.find((r) => r.method === "target");
    if (!target) break;
    const next = refinementThresholds(rows, target.accuracy);
    if (next.length === 0) break;
    const add = next.map((n) => ({ method: methods.find((m) => m.id === n.method)!, threshold: n.threshold }));
    const bar = progressBar(process.stderr, `bench refine ${round}`);
    const more = await runSweep(engines, add, problems, { warmup: 0, request: opts.request, onProgress: bar.update });
    bar.done();
    records.push(...more.map((r) => ({ ...r, config: r.config + configs.length })));
    configs.push(...add);
    for (const n of next) (added[n.method] ??= []).push(n.threshold);
  }
  // Method order as planned, thresholds ascending within a method.
  const order = configs.map((_, i) => i);
  const rank = (c: BenchConfig) => methods.findIndex((m) => m.id === c.method.id);
  order.sort((a, b) => rank(configs[a]!) - rank(configs[b]!) || (configs[a]!.threshold ?? -1) - (configs[b]!.threshold ?? -1));
  const position = new Map(order.map((old, i) => [old, i]));
  records = records.map((r) => ({ ...r, config: position.get(r.config)! }));
  const searched = order.map((i) => i >= gridConfigs.length);
  configs = order.map((i) => configs[i]!);
  const label = (id: string) => methods.find((m) => m.id === id)?.label ?? id;
  const notes = Object.entries(added).map(
    ([id, ts]) => `${label(id)}: matched point searched between grid thresholds, ran ${[...ts].sort((a, b) => a - b).join(", ")} as well`,
  );
  return { configs, records, searched, added, notes };
}

/**
 * The matched pass: when the search added settings, the compared ones (matchedCandidates) run
 * again, side by side in one interleaved pass, so every ratio of the summary is measured in one
 * run under one rotation. Without a search the sweep already is that run.
 */
async function matchedPass(
  engines: BenchEngines,
  swept: { configs: BenchConfig[]; records: RunRecord[]; searched: boolean[]; added: Record<string, number[]> },
  rows: ResultRow[],
  problems: readonly Problem[],
  request: RequestOptions,
): Promise<{ configs: BenchConfig[]; records: RunRecord[]; rows: ResultRow[]; remeasured: boolean }> {
  const target = rows.find((r) => r.method === "target");
  if (Object.keys(swept.added).length === 0 || !target) return { configs: swept.configs, records: swept.records, rows, remeasured: false };
  const configs = matchedCandidates(rows, swept.searched, target.accuracy).map((i) => swept.configs[i]!);
  const bar = progressBar(process.stderr, "bench matched pass");
  const records = await runSweep(engines, configs, problems, { warmup: 0, request, onProgress: bar.update });
  bar.done();
  return { configs, records, rows: aggregateRows(configs, records), remeasured: true };
}

export interface BenchOutput {
  meta: Record<string, unknown>;
  results: ResultRow[];
  /** The matched pass's rows, when the search ran (the summary's comparison). */
  matchedPass?: ResultRow[];
  summary: Summary;
}

function plotTitle(title: string | undefined, problems: number, draftPath: string, targetPath: string): string {
  return title ?? `Accuracy vs latency: ${problems} problems, draft ${fileName(draftPath)} / target ${fileName(targetPath)}`;
}

/** `--replot FILE.json`: the plot and table of a saved run, without running anything (e.g. after a change to the plot). */
export async function replot(file: string, plot: string | false | undefined, title: string | undefined): Promise<void> {
  const path = resolve(file);
  let saved: BenchOutput;
  try {
    saved = JSON.parse(readFileSync(path, "utf8")) as BenchOutput;
  } catch (e) {
    throw new Error(`--replot: cannot read ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
  }
  if (!Array.isArray(saved.results) || typeof saved.summary !== "object" || typeof saved.meta !== "object") {
    throw new Error(`--replot: ${JSON.stringify(path)} is not a saved bench run ({meta, results, summary}).`);
  }
  const meta = saved.meta as {
    problems?: number;
    draft?: { path?: string };
    target?: { path?: string };
    skipped?: SkippedMethod[];
    notes?: string[];
  };
  if (typeof plot === "string") {
    await writeFrontierPlot(
      resolve(plot),
      saved.results,
      saved.summary,
      plotTitle(title, meta.problems ?? 0, meta.draft?.path ?? "draft", meta.target?.path ?? "target"),
    );
  }
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
  process.stdout.write(formatReport(saved.results, saved.summary, colour, { skipped: meta.skipped ?? [], notes: meta.notes ?? [] }));
}

/** Whether draft and target are both the embedded task's models (read from the GGUF metadata, as the engine does). */
async function isEmbeddedPair(config: ModelConfig): Promise<boolean> {
  const draft = await checkModelFile(modelPath(config.draft, "draft"), "Draft");
  if (!isEmbeddedTaskModel(draft)) return false;
  return isEmbeddedTaskModel(await checkModelFile(modelPath(config.target, "target"), "Target"));
}

/** What runs, decided before any model loads: the methods (and those skipped, and why), the notes, the plot path. */
interface RunPlan {
  embeddedPair: boolean;
  plan: MethodPlan;
  notes: string[];
  plotPath: string | null;
}

async function planRun(o: BenchOptions): Promise<RunPlan> {
  const config = validateModelConfig(o.modelConfig);
  const embeddedPair = await isEmbeddedPair(config);
  const plan = planMethods(
    o.policies,
    config.router,
    config.scorer,
    {
      embeddedPair,
      exactApplies: exactCheckerApplies(o.problems),
    },
    o.tokenSpec,
  );
  if (plan.methods.length === 0) {
    throw new Error(`nothing to run: ${plan.skipped.map((m) => `${m.label} (${m.reason})`).join("; ")}`);
  }
  const notes = [...plan.notes];
  if (o.problems.some((p) => p.code)) notes.push("code problems: pass@1, each answer's final code run against the problem's tests in the sandbox");
  const plotPath = typeof o.plot === "string" ? o.plot : o.plot === false ? null : embeddedPair ? DEFAULT_PLOT : null;
  if (o.plot === undefined && !embeddedPair)
    notes.push(`no plot written: give --plot FILE.svg (the default ${DEFAULT_PLOT} is the embedded pair's figure)`);
  return { embeddedPair, plan, notes, plotPath };
}

/** The methods the loaded pair can run: token-level speculation needs one vocabulary and local models (the engine falls back to the target alone otherwise). */
function runnableMethods(plan: MethodPlan, info: EngineInfo): Method[] {
  const specWhyNot = !info.sameTokenizer
    ? "token-level speculation needs the draft and target to share a tokenizer"
    : Object.keys(info.remote).length > 0
      ? "token-level speculation needs both models here (a server gives no logits at every position)"
      : null;
  if (specWhyNot === null) return plan.methods;
  for (const m of plan.methods.filter((m) => m.options !== undefined)) plan.skipped.push({ label: m.label, reason: specWhyNot });
  return plan.methods.filter((m) => m.options === undefined);
}

interface Measured {
  rows: ResultRow[];
  refined: Awaited<ReturnType<typeof refineMatchedPoints>>;
  compared: Awaited<ReturnType<typeof matchedPass>>;
  summary: Summary;
  started: Date;
  loadBefore: number[];
}

/** The sweep, the matched-point search, the matched pass and prefix reuse on vs off; notes what each did. */
async function measure(
  engines: BenchEngines,
  o: BenchOptions,
  methods: Method[],
  notes: string[],
  onProgress: Parameters<typeof runSweep>[3]["onProgress"],
): Promise<Measured> {
  const { problems, request, thresholds } = o;
  const info = engines.first().info();
  const hasArbitrage = methods.some((m) => m.id === "arbitrage");
  const configs: BenchConfig[] = methods.flatMap((m): BenchConfig[] =>
    m.swept ? thresholds.map((t) => ({ method: m, threshold: t })) : [{ method: m, threshold: null }],
  );
  // Prefix reuse needs one vocabulary (the engine turns it off otherwise): on vs off would measure nothing.
  const measurePrefix = hasArbitrage && info.sameTokenizer;
  if (hasArbitrage && !info.sameTokenizer)
    notes.push("prefix reuse not measured: the draft and target tokenizers differ, so the engine runs without it");
  const prefixWork = measurePrefix ? 2 * problems.length : 0;
  const started = new Date();
  const loadBefore = loadavg();
  await engines.preload(methods, problems[0]!, request);
  const sweep = await runSweep(engines, configs, problems, {
    warmup: o.warmup,
    request,
    onProgress,
    extraWork: prefixWork,
  });
  const refined = await refineMatchedPoints(engines, methods, configs, sweep, problems, { rounds: o.refine, request });
  notes.push(...refined.notes);
  const rows = aggregateRows(refined.configs, refined.records);
  const compared = await matchedPass(engines, refined, rows, problems, request);
  if (compared.remeasured)
    notes.push(
      `matched comparison: ${compared.configs.length} settings (every method without a threshold, and each thresholded method's fastest in-band setting of the grid and of the search) re-run side by side in one pass; the summary's ratios come from it (matchedPass in the JSON), the rows from the sweep and the search`,
    );

  let prefix: Parameters<typeof summarise>[2] = null;
  if (measurePrefix) {
    // Prefix reuse on vs off, on arbitrage at its matched setting (else its most accurate one).
    const target = compared.rows.find((r) => r.method === "target");
    const arbRows = rows.filter((r) => r.method === "arbitrage");
    const pick =
      (target ? matchedRow(compared.rows, "arbitrage", target.accuracy) : null) ??
      [...arbRows].sort((a, b) => b.accuracy - a.accuracy || a.latencyMs - b.latencyMs)[0]!;
    const config = refined.configs.find((c) => c.method.id === "arbitrage" && c.threshold === pick.threshold)!;
    const done = configs.length * (problems.length + Math.min(o.warmup, problems.length));
    prefix = {
      config,
      records: await runPrefixReuse(engines, config, problems, { request, onProgress, doneBefore: done, total: done + prefixWork }),
    };
  }
  const summary = summarise(compared.rows, compared.records, prefix);
  if (compared.remeasured) summary.matchedPass = true;
  if (summary.targetAccuracy !== null) notes.push(...gridDependence(rows, summary.targetAccuracy).map(gridDependenceNote));
  return { rows, refined, compared, summary, started, loadBefore };
}

/**
 * Token-level speculation and prefix reuse give the target's own text where batches compute
 * exactly (a difference is a bug: exit code 1); on quantized kernels a batch-written cache can
 * tip a later near-tie, so a difference is reported with its agreement rate, not as a failure.
 */
function checkAgreement(rows: readonly ResultRow[], summary: Summary, exact: boolean, problems: number): void {
  const differs = (what: string, differing: readonly number[], total: number) => {
    if (differing.length === 0) return;
    if (exact) {
      process.stderr.write(
        `arbitrage: error: ${what} differently from the target on problems ${differing.join(", ")} (it must not: this pair computes batches exactly).\n`,
      );
      process.exitCode = 1;
    } else {
      process.stderr.write(
        `arbitrage: note: ${what} differently from the target on problems ${differing.join(", ")} (${total - differing.length}/${total} agree; quantized kernels: near-ties can tip).\n`,
      );
    }
  };
  const targetRow = rows.find((r) => r.method === "target");
  for (const r of rows.filter((r) => isSpeculativeMethod(r.method))) {
    const differ = targetRow ? r.answers.flatMap((a, i) => (a === targetRow.answers[i] ? [] : [i])) : [];
    differs(`${r.label} answered`, differ, r.answers.length);
  }
  if (summary.prefixReuse) differs("prefix reuse wrote", summary.prefixReuse.identicalOutputs ? [] : summary.prefixReuse.mismatches, problems);
}

/** The JSON (--save, --json), the plot and the table. */
async function writeResults(o: BenchOptions, run: RunPlan, output: BenchOutput, info: EngineInfo): Promise<void> {
  const json = `${JSON.stringify(output, null, o.save ? 1 : 0)}\n`;
  if (o.save) {
    const path = resolve(o.save);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, json);
  }
  if (run.plotPath !== null) {
    await writeFrontierPlot(
      resolve(run.plotPath),
      output.results,
      output.summary,
      plotTitle(o.title, o.problems.length, info.draft.path, info.target.path),
    );
  }
  if (o.json) process.stdout.write(`${JSON.stringify(output)}\n`);
  else
    process.stdout.write(
      formatReport(output.results, output.summary, process.stdout.isTTY === true && !process.env.NO_COLOR, {
        skipped: run.plan.skipped,
        notes: run.notes,
      }),
    );
}

export async function runBench(o: BenchOptions): Promise<void> {
  const run = await planRun(o);
  const { notes } = run;
  const bar = progressBar();
  const engines = await BenchEngines.load(o.modelConfig, bar.update, o.calibrationDir);
  try {
    const info = engines.first().info();
    const methods = runnableMethods(run.plan, info);
    const confidenceRouter = engines.first().calibration.description;
    if (methods.some((m) => m.id === "arbitrage-confidence" || (m.id === "arbitrage" && m.router === "confidence")))
      notes.push(`arbitrage (confidence): ${confidenceRouter}`);
    const { rows, refined, compared, summary, started, loadBefore } = await measure(engines, o, methods, notes, bar.update);
    bar.done();
    const output: BenchOutput = {
      meta: {
        date: started.toISOString(),
        problemsFile: o.problemsPath,
        problems: o.problems.length,
        thresholds: o.thresholds,
        refinedThresholds: refined.added,
        warmup: o.warmup,
        methods: methods.map((m) => ({ id: m.id, label: m.label, policy: m.policy, router: m.router, scorer: m.scorer })),
        embeddedPair: run.embeddedPair,
        skipped: run.plan.skipped,
        notes,
        warnings: info.warnings,
        confidenceRouter,
        draft: info.draft,
        target: info.target,
        gpu: info.gpu,
        threads: info.threads,
        cpu: `${cpus()[0]?.model ?? "unknown"} x${cpus().length}`,
        node: process.version,
        // 1-minute load average before and after (2-core machine: above ~1 other work was competing).
        loadAverage: { before: loadBefore[0], after: loadavg()[0] },
        wallSeconds: (Date.now() - started.getTime()) / 1000,
        request: o.request,
      },
      results: rows,
      ...(compared.remeasured ? { matchedPass: compared.rows } : {}),
      summary,
    };
    await writeResults(o, run, output, info);
    checkAgreement(rows, summary, info.exactBatches, o.problems.length);
  } finally {
    bar.done();
    await engines.dispose();
  }
}
