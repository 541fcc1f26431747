import { Command, CommanderError, InvalidArgumentError } from "commander";
import { resolve } from "node:path";
import { checkPolicy, checkThreshold, validateReasonOptions } from "../engine/index.js";
import { REFINE_THRESHOLD_STEP } from "../bench/aggregate.js";
import { DEFAULT_PLOT, replot, runBench, type BenchOptions } from "../bench/frontier.js";
import { BENCH_CONTROLS, BENCH_POLICIES, DEFAULT_TOKEN_SPEC, type BenchPolicy, type TokenSpecMethods } from "../bench/methods.js";
import { defaultProblemsPath, loadProblems } from "../bench/problems.js";
import type { RequestOptions } from "../bench/run.js";
import { calibrationDirFromFlags, modelConfigFromFlags, modelFlags, number } from "./flags.js";

/** `arbitrage bench`'s command line: its flags, parsed and checked into BenchOptions (src/bench/frontier.ts runs them). */

/**
 * Fine near both ends, where matched accuracy is decided: arbitrage sends every step to the target
 * at 0 and its matched point sits just above it; rsd keeps nothing at 1 and its matched point sits
 * just below. On 0.1 steps alone a method's matched point depends on the grid. 17 values
 * instead of 11: the swept methods cost ~1.5x as long.
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

function benchCommand(): Command {
  return modelFlags(new Command("arbitrage bench"))
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
}

/** The bench's flags as commander gives them (camelCase; unset ones absent). */
type BenchFlags = {
  problems?: string;
  policies: string;
  thresholds: string;
  limit?: number;
  warmup: number;
  json?: true;
  plot?: string | false;
  save?: string;
  maxSteps?: number;
  maxTokensPerStep?: number;
  style?: string;
  speculativeDraft?: true;
  draftTokens: string;
  tokenSpec: string;
  tokenSpecK?: number;
  refine: number;
  title?: string;
  replot?: string;
} & Record<string, unknown>;

/** The flags parsed and checked, and the problems read: everything that can fail before a model loads. */
function benchOptions(o: BenchFlags): BenchOptions {
  const policies = parsePolicies(o.policies);
  const tokenSpec: TokenSpecMethods = {
    draftTokens: parseDraftTokens(o.draftTokens),
    combine: parseTokenSpec(o.tokenSpec),
    combineDraftTokens: o.tokenSpecK ?? DEFAULT_TOKEN_SPEC.combineDraftTokens,
  };
  validateReasonOptions({ draftTokens: tokenSpec.combineDraftTokens });
  const thresholds = parseThresholds(o.thresholds);
  const problemsPath = o.problems ? resolve(o.problems) : defaultProblemsPath();
  let problems = loadProblems(problemsPath);
  if (o.limit !== undefined) problems = problems.slice(0, o.limit);
  const modelConfig = modelConfigFromFlags(o);
  const request: RequestOptions = {};
  if (o.maxSteps !== undefined) request.maxSteps = o.maxSteps;
  if (o.maxTokensPerStep !== undefined) request.maxTokensPerStep = o.maxTokensPerStep;
  if (o.style !== undefined) request.promptStyle = o.style;
  // Code problems (HumanEval lines) are graded by their tests: ask for code.
  else if (problems.some((p) => p.code)) request.promptStyle = "code";
  if (o.speculativeDraft === true) request.speculativeDraft = true;
  // The engine's own checks, before any model is loaded (the same messages as `arbitrage reason`).
  validateReasonOptions(request);
  return {
    problemsPath,
    problems,
    policies,
    thresholds,
    tokenSpec,
    modelConfig,
    calibrationDir: calibrationDirFromFlags(o),
    request,
    warmup: o.warmup,
    refine: o.refine,
    plot: o.plot,
    save: o.save,
    json: o.json === true,
    title: o.title,
  };
}

export async function runBenchCli(argv: string[]): Promise<void> {
  const cmd = benchCommand();
  try {
    cmd.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError && (e.code === "commander.helpDisplayed" || e.code === "commander.help")) return;
    // One line, printed by the CLI's own error handler: "arbitrage: error: ...".
    throw new Error(`${(e as Error).message.replace(/^error: /, "")} (see arbitrage bench --help)`, { cause: e });
  }
  const o = cmd.opts<BenchFlags>();
  if (typeof o.replot === "string") return replot(o.replot, o.plot, o.title);
  await runBench(benchOptions(o));
}
