import { Command, CommanderError, InvalidArgumentError } from "commander";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import {
  checkModelFile,
  checkPolicy,
  checkThreshold,
  embeddedModelPath,
  validateModelConfig,
  validateReasonOptions,
  type ModelConfig,
  type RouterChoice,
  type ScorerChoice,
} from "../engine/index.js";
import { isEmbeddedTaskModel } from "../engine/prompt.js";
import { calibrationDirFromFlags, modelConfigFromFlags, modelFlags, number } from "../cli/flags.js";
import {
  aggregateRows,
  gridDependence,
  gridDependenceNote,
  matchedCandidates,
  refinementThresholds,
  summarise,
  matchedRow,
  REFINE_THRESHOLD_STEP,
  type ResultRow,
  type Summary,
} from "./aggregate.js";
import {
  BENCH_CONTROLS,
  BENCH_POLICIES,
  type BenchPolicy,
  DEFAULT_TOKEN_SPEC,
  isSpeculativeMethod,
  planMethods,
  type Method,
  type SkippedMethod,
  type TokenSpecMethods,
} from "./methods.js";
import { writeFrontierPlot } from "./plot.js";
import { defaultProblemsPath, exactCheckerApplies, loadProblems, type Problem } from "./problems.js";
import { progressBar } from "./progress.js";
import { BenchEngines, runPrefixReuse, runSweep, type BenchConfig, type RequestOptions, type RunRecord } from "./run.js";
import { formatReport } from "./table.js";

/**
 * Fine near both ends, where matched accuracy is decided: arbitrage sends every step to the target
 * at 0 and its matched point sits just above it; rsd keeps nothing at 1 and its matched point sits
 * just below. On 0.1 steps alone a method's matched point depended on the grid (issue 14). 17
 * values instead of 11: the swept methods cost ~1.5x as long.
 */
export const DEFAULT_THRESHOLDS = "0,0.01,0.02,0.05,0.1,0.2,...,0.9,0.95,0.98,0.99,1";

/** "0,0.1,...,1" → [0, 0.1, ..., 1]: "..." continues the step of the two values before it up to the value after it. */
export function parseThresholds(text: string): number[] {
  const parts = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const out: number[] = [];
  const value = (s: string) => {
    const n = Number(s);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`--thresholds: ${JSON.stringify(s)} is not a number.`);
    checkThreshold(n);
    return n;
  };
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] !== "...") {
      out.push(value(parts[i]!));
      continue;
    }
    const a = out[out.length - 2];
    const b = out[out.length - 1];
    const end = parts[i + 1] === undefined ? undefined : value(parts[i + 1]!);
    if (a === undefined || b === undefined || end === undefined || b <= a) {
      throw new InvalidArgumentError('--thresholds: "..." needs two increasing values before it and one after it, e.g. 0,0.1,...,1.');
    }
    const step = b - a;
    for (let k = 1; ; k++) {
      const v = Math.round((b + k * step) * 1e9) / 1e9;
      if (v >= end - 1e-9) break;
      out.push(v);
    }
  }
  const unique = [...new Set(out.map((v) => Math.round(v * 1e9) / 1e9))].sort((x, y) => x - y);
  if (unique.length === 0) throw new InvalidArgumentError("--thresholds: give at least one threshold.");
  return unique;
}

export function parsePolicies(text: string): BenchPolicy[] {
  const list = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 0) throw new InvalidArgumentError(`--policies: give at least one of ${BENCH_POLICIES.join(", ")}.`);
  return [...new Set(list.map((p): BenchPolicy => ((BENCH_CONTROLS as readonly string[]).includes(p) ? (p as BenchPolicy) : checkPolicy(p))))];
}

/** "2,4,8" → [2, 4, 8]: draft tokens per round for the `speculative` rows (the engine's own range check). */
export function parseDraftTokens(text: string): number[] {
  const list = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 0) throw new InvalidArgumentError("--draft-tokens: give at least one whole number, e.g. 2,4,8.");
  return [
    ...new Set(
      list.map((s) => {
        const n = Number(s);
        validateReasonOptions({ draftTokens: n });
        return n;
      }),
    ),
  ];
}

/** "arbitrage,rsd" or "none": the routed methods that also run with token-level speculation. */
export function parseTokenSpec(text: string): TokenSpecMethods["combine"] {
  const list = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 1 && list[0] === "none") return [];
  for (const x of list) {
    if (x !== "arbitrage" && x !== "rsd")
      throw new InvalidArgumentError(`--token-spec: ${JSON.stringify(x)} is not one of arbitrage, rsd (or none).`);
  }
  return [...new Set(list as ("arbitrage" | "rsd")[])];
}

function positiveInt(flag: string, min: number) {
  const parse = number(flag);
  return (v: string) => {
    const n = parse(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be a whole number >= ${min} (got ${v}).`);
    return n;
  };
}

/** Enough rounds to halve the default grid's widest bracket (0.1) below REFINE_THRESHOLD_STEP. */
export const DEFAULT_REFINE_ROUNDS = 8;

/**
 * The matched-point search (issue 14: no method's matched point may depend on the grid). After the
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

function plotTitle(o: Record<string, unknown>, problems: number, draftPath: string, targetPath: string): string {
  const file = (p: string) => p.split(/[\\/]/).pop();
  return typeof o.title === "string" ? o.title : `Accuracy vs latency: ${problems} problems, draft ${file(draftPath)} / target ${file(targetPath)}`;
}

/** `--replot FILE.json`: the plot and table of a saved run, without running anything (e.g. after a change to the plot). */
async function replot(o: Record<string, unknown>): Promise<void> {
  const path = resolve(String(o.replot));
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
  if (typeof o.plot === "string") {
    await writeFrontierPlot(
      resolve(o.plot),
      saved.results,
      saved.summary,
      plotTitle(o, meta.problems ?? 0, meta.draft?.path ?? "draft", meta.target?.path ?? "target"),
    );
  }
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
  process.stdout.write(formatReport(saved.results, saved.summary, colour, { skipped: meta.skipped ?? [], notes: meta.notes ?? [] }));
}

/** The default plot path; only the embedded pair writes there by default (its committed figure). */
export const DEFAULT_PLOT = "bench/frontier.svg";

/** Whether draft and target are both the embedded task's models (read from the GGUF metadata, as the engine does). */
async function isEmbeddedPair(config: ModelConfig): Promise<boolean> {
  const path = (v: string, role: "draft" | "target") => (v === "embedded" ? embeddedModelPath(role) : v);
  const draft = await checkModelFile(path(config.draft, "draft"), "Draft");
  if (!isEmbeddedTaskModel(draft)) return false;
  return isEmbeddedTaskModel(await checkModelFile(path(config.target, "target"), "Target"));
}

export async function runBenchCli(argv: string[]): Promise<void> {
  const cmd = modelFlags(new Command("arbitrage bench"))
    .description("accuracy–latency frontier of every policy on a problem set; see bench/README.md")
    .option(
      "--problems <file>",
      'JSONL problem set, one {"question", "answer"} per line, or HumanEval lines graded by their tests (default: the embedded task\'s held-out sample)',
    )
    .option(
      "--policies <list>",
      `comma-separated policies: ${BENCH_POLICIES.join(",")}, and random (random routing, the control; only when named)`,
      BENCH_POLICIES.join(","),
    )
    .option("--thresholds <list>", 'threshold grid, e.g. "0,0.25,0.5,1" or "0,0.1,...,1" (default: fine near both ends)', DEFAULT_THRESHOLDS)
    .option("--limit <n>", "use the first N problems", positiveInt("--limit", 1))
    .option("--warmup <n>", "problems run through every setting before measuring (not recorded)", positiveInt("--warmup", 0), 1)
    .option("--json", "print one JSON object {meta, results, summary} instead of the table")
    .option(
      "--plot <file>",
      `write the accuracy-vs-latency plot (SVG) here (default for the embedded pair: ${DEFAULT_PLOT}; another pair writes one only when given)`,
    )
    .option("--no-plot", "do not write the plot")
    .option("--save <file>", "also write the JSON object to this file")
    .option("--max-steps <n>", "step cap per problem", number("--max-steps"))
    .option("--max-tokens-per-step <n>", "token cap per step", number("--max-tokens-per-step"))
    .option("--style <style>", "prompt style for instruct models: math, code or plain")
    .option("--speculative-draft", "write the next draft step while the current one is judged (off by default)")
    .option(
      "--draft-tokens <list>",
      "draft tokens per round of the `speculative` rows (token-level speculative decoding)",
      DEFAULT_TOKEN_SPEC.draftTokens.join(","),
    )
    .option(
      "--token-spec <list>",
      'routed methods that also run with token-level speculation ("arbitrage+spec", "rsd+spec"): arbitrage, rsd, or none',
      DEFAULT_TOKEN_SPEC.combine.join(","),
    )
    .option(
      "--token-spec-k <n>",
      `draft tokens per round of those methods (default: ${DEFAULT_TOKEN_SPEC.combineDraftTokens})`,
      number("--token-spec-k"),
    )
    .option(
      "--refine <rounds>",
      `rounds of the matched-point search: each runs the midpoint of every method's bracket between an in-band threshold and a faster one below the band, down to ${REFINE_THRESHOLD_STEP} (0: the grid alone)`,
      positiveInt("--refine", 0),
      DEFAULT_REFINE_ROUNDS,
    )
    .option("--title <text>", "plot title")
    .option("--replot <file>", "run nothing: redraw the plot (--plot) and print the table of a run saved with --save")
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  try {
    cmd.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError && (e.code === "commander.helpDisplayed" || e.code === "commander.help")) return;
    // One line, printed by the CLI's own error handler: "arbitrage: error: ...".
    throw new Error(`${(e as Error).message.replace(/^error: /, "")} (see arbitrage bench --help)`, { cause: e });
  }
  const o = cmd.opts() as Record<string, unknown>;
  if (typeof o.replot === "string") return replot(o);

  const policies = parsePolicies(String(o.policies));
  const tokenSpec: TokenSpecMethods = {
    draftTokens: parseDraftTokens(String(o.draftTokens)),
    combine: parseTokenSpec(String(o.tokenSpec)),
    combineDraftTokens: (o.tokenSpecK as number | undefined) ?? DEFAULT_TOKEN_SPEC.combineDraftTokens,
  };
  validateReasonOptions({ draftTokens: tokenSpec.combineDraftTokens });
  const thresholds = parseThresholds(String(o.thresholds));
  const problemsPath = o.problems ? resolve(String(o.problems)) : defaultProblemsPath();
  let problems = loadProblems(problemsPath);
  if (o.limit !== undefined) problems = problems.slice(0, o.limit as number);
  const modelConfig = modelConfigFromFlags(o);
  const request: RequestOptions = {};
  if (o.maxSteps !== undefined) request.maxSteps = o.maxSteps as number;
  if (o.maxTokensPerStep !== undefined) request.maxTokensPerStep = o.maxTokensPerStep as number;
  if (o.style !== undefined) request.promptStyle = String(o.style);
  // Code problems (HumanEval lines) are graded by their tests: ask for code.
  else if (problems.some((p) => p.code)) request.promptStyle = "code";
  if (o.speculativeDraft === true) request.speculativeDraft = true;
  // The engine's own checks, before any model is loaded (the same messages as `arbitrage reason`).
  validateReasonOptions(request);
  const embeddedPair = await isEmbeddedPair(validateModelConfig(modelConfig));
  const plan = planMethods(
    policies,
    modelConfig.router as RouterChoice,
    modelConfig.scorer as ScorerChoice,
    {
      embeddedPair,
      exactApplies: exactCheckerApplies(problems),
    },
    tokenSpec,
  );
  let methods = plan.methods;
  if (methods.length === 0) {
    throw new Error(`nothing to run: ${plan.skipped.map((m) => `${m.label} (${m.reason})`).join("; ")}`);
  }
  const notes = [...plan.notes];
  if (problems.some((p) => p.code)) notes.push("code problems: pass@1, each answer's final code run against the problem's tests in the sandbox");
  const plotPath = typeof o.plot === "string" ? o.plot : o.plot === false ? null : embeddedPair ? DEFAULT_PLOT : null;
  if (o.plot === undefined && !embeddedPair)
    notes.push(`no plot written: give --plot FILE.svg (the default ${DEFAULT_PLOT} is the embedded pair's figure)`);
  const hasArbitrage = methods.some((m) => m.id === "arbitrage");
  const bar = progressBar();
  const engines = await BenchEngines.load(modelConfig, bar.update, calibrationDirFromFlags(o));
  try {
    const info = engines.first().info();
    // Token-level speculation needs one vocabulary and local models (the engine falls back to the target alone otherwise): skip, saying why.
    const specWhyNot = !info.sameTokenizer
      ? "token-level speculation needs the draft and target to share a tokenizer"
      : Object.keys(info.remote).length > 0
        ? "token-level speculation needs both models here (a server gives no logits at every position)"
        : null;
    if (specWhyNot !== null) {
      for (const m of methods.filter((m) => m.options !== undefined)) plan.skipped.push({ label: m.label, reason: specWhyNot });
      methods = methods.filter((m) => m.options === undefined);
    }
    const configs: BenchConfig[] = methods.flatMap((m): BenchConfig[] =>
      m.swept ? thresholds.map((t) => ({ method: m, threshold: t })) : [{ method: m, threshold: null }],
    );
    const confidenceRouter = engines.first().calibration.description;
    if (methods.some((m) => m.id === "arbitrage-confidence" || (m.id === "arbitrage" && m.router === "confidence")))
      notes.push(`arbitrage (confidence): ${confidenceRouter}`);
    // Prefix reuse needs one vocabulary (the engine turns it off otherwise): on vs off would measure nothing.
    const measurePrefix = hasArbitrage && info.sameTokenizer;
    if (hasArbitrage && !info.sameTokenizer)
      notes.push("prefix reuse not measured: the draft and target tokenizers differ, so the engine runs without it");
    const prefixWork = measurePrefix ? 2 * problems.length : 0;
    const started = new Date();
    const loadBefore = loadavg();
    await engines.preload(methods, problems[0]!, request);
    const sweep = await runSweep(engines, configs, problems, {
      warmup: o.warmup as number,
      request,
      onProgress: bar.update,
      extraWork: prefixWork,
    });
    const refined = await refineMatchedPoints(engines, methods, configs, sweep, problems, { rounds: o.refine as number, request });
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
      const done = configs.length * (problems.length + Math.min(o.warmup as number, problems.length));
      prefix = {
        config,
        records: await runPrefixReuse(engines, config, problems, { request, onProgress: bar.update, doneBefore: done, total: done + prefixWork }),
      };
    }
    bar.done();
    const summary = summarise(compared.rows, compared.records, prefix);
    if (compared.remeasured) summary.matchedPass = true;
    if (summary.targetAccuracy !== null) notes.push(...gridDependence(rows, summary.targetAccuracy).map(gridDependenceNote));
    const output: BenchOutput = {
      meta: {
        date: started.toISOString(),
        problemsFile: problemsPath,
        problems: problems.length,
        thresholds,
        refinedThresholds: refined.added,
        warmup: o.warmup,
        methods: methods.map((m) => ({ id: m.id, label: m.label, policy: m.policy, router: m.router, scorer: m.scorer })),
        embeddedPair,
        skipped: plan.skipped,
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
        request,
      },
      results: rows,
      ...(compared.remeasured ? { matchedPass: compared.rows } : {}),
      summary,
    };
    const json = `${JSON.stringify(output, null, o.save ? 1 : 0)}\n`;
    if (o.save) {
      const path = resolve(String(o.save));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, json);
    }
    if (plotPath !== null) {
      await writeFrontierPlot(resolve(plotPath), rows, summary, plotTitle(o, problems.length, info.draft.path, info.target.path));
    }
    if (o.json) process.stdout.write(`${JSON.stringify(output)}\n`);
    else process.stdout.write(formatReport(rows, summary, process.stdout.isTTY === true && !process.env.NO_COLOR, { skipped: plan.skipped, notes }));
    // Token-level speculation is lossless: every speculative row must answer as the target does.
    const targetRow = rows.find((r) => r.method === "target");
    for (const r of rows.filter((r) => isSpeculativeMethod(r.method))) {
      const differ = targetRow ? r.answers.flatMap((a, i) => (a === targetRow.answers[i] ? [] : [i])) : [];
      if (differ.length > 0) {
        process.stderr.write(`arbitrage: error: ${r.label} answered differently from the target on problems ${differ.join(", ")} (it must not).\n`);
        process.exitCode = 1;
      }
    }
    if (summary.prefixReuse && !summary.prefixReuse.identicalOutputs) {
      process.stderr.write(
        `arbitrage: error: prefix reuse changed the output on problems ${summary.prefixReuse.mismatches.join(", ")} (it must not).\n`,
      );
      process.exitCode = 1;
    }
  } finally {
    bar.done();
    await engines.dispose();
  }
}
