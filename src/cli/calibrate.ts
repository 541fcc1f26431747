import { resolve } from "node:path";
import { ArbitrageEngine, type ScorerChoice } from "../engine/index.js";
import { calibrate, chooseLabels, type CalibrationResult, type LabelMethod } from "../engine/calibration/calibrate.js";
import { ArbitrageError } from "../engine/errors.js";
import { loadProblems } from "../engine/problem-file.js";
import { progressBar } from "../bench/progress.js";
import { calibrationDirFromFlags, modelConfigFromFlags } from "./flags.js";

/**
 * `arbitrage calibrate`: fits the confidence router to the user's pair (src/engine/calibration).
 * --scorer picks the labels: "exact" (the embedded task's checker), "outcome" (each step
 * continued by the target to a final answer, checked against the known one), a PRM GGUF file,
 * or by default exact on the embedded pair with arithmetic questions and outcome otherwise.
 */
export async function runCalibrate(o: Record<string, unknown>): Promise<void> {
  if (typeof o.problems !== "string")
    throw new ArbitrageError(
      "invalid-option",
      'Give the problems: --problems FILE.jsonl, one {"question", "answer"} per line (e.g. bench/problems/calibration-embedded.jsonl).',
    );
  const problems = loadProblems(resolve(o.problems));
  const budget = o.budgetMinutes === undefined ? undefined : Number(o.budgetMinutes);
  if (budget !== undefined && !(budget > 0))
    throw new ArbitrageError("invalid-option", `Invalid --budget-minutes: ${String(o.budgetMinutes)}. Use a number of minutes above 0.`);
  const dir = calibrationDirFromFlags(o);
  if (dir === undefined)
    throw new ArbitrageError("invalid-option", "--calibrations none: calibrate needs a folder to write to (leave the flag out for the default one).");

  const scorerFlag = typeof o.scorer === "string" ? o.scorer : "embedded";
  const named: Record<string, ScorerChoice | "outcome"> = { exact: "exact", outcome: "outcome", embedded: "embedded" };
  const asked = named[scorerFlag] ?? { path: resolve(scorerFlag) };
  // The engine's configured scorer only matters for PRM labels; the others bring their own judge.
  const config = { ...modelConfigFromFlags({ ...o, scorer: typeof asked === "object" ? scorerFlag : "embedded" }), router: "confidence" };
  const engine = await ArbitrageEngine.create(config);
  try {
    const labels: LabelMethod = await chooseLabels(engine, problems, typeof asked === "object" ? "prm" : asked === "embedded" ? "auto" : asked);
    if (asked === "embedded" && labels === "outcome")
      process.stderr.write(
        "arbitrage: labels: outcome (each step continued by the target to a final answer; the exact checker does not apply to this pair or these problems)\n",
      );
    const bar = progressBar(process.stderr, "calibrate");
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once("SIGINT", onSigint);
    let result: CalibrationResult;
    try {
      result = await calibrate(engine, {
        problems,
        labels,
        dir,
        budgetMs: budget === undefined ? undefined : budget * 60_000,
        signal: abort.signal,
        request: rolloutOptions(o),
        onProgress: (p) =>
          bar.update({
            done: p.done,
            total: p.total,
            phase: "rollouts",
            detail: `${p.rows} steps, ${p.positives} with target advantage${p.resumed ? `, ${p.resumed} resumed` : ""}`,
            etaMs: p.etaMs,
          }),
      });
    } finally {
      process.off("SIGINT", onSigint);
      bar.done();
    }
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ ...result, labels })}\n`);
      return;
    }
    if (result.status === "cancelled") {
      process.stderr.write(
        `arbitrage: calibration cancelled after ${result.done}/${result.total} problems; nothing was written, and the finished rollouts are kept in ${result.logPath}: run the same command again to resume.\n`,
      );
      process.exitCode = 130;
      return;
    }
    const c = result.calibration;
    const lines = [
      `router calibrated for ${c.pair.draft.file} → ${c.pair.target.file} (labels: ${labels})`,
      `  problems: ${c.train.problems + c.heldout.problems} (${result.newProblems} rolled out now${result.resumed ? `, ${result.resumed} from an earlier run` : ""}${result.stoppedByBudget ? `; the budget ended after ${result.resumed + result.newProblems} of ${problems.length}` : ""}), oracle reached the known answer on ${(100 * result.correctShare).toFixed(0)}%`,
      `  steps: ${c.train.rows} to fit (${c.train.positives} with target advantage), ${c.heldout.rows} held out (${c.heldout.positives})`,
      `  held-out ROC-AUC: ${c.heldout.auc.toFixed(3)} calibrated, ${c.heldout.defaultWeightsAuc?.toFixed(3) ?? "–"} with the default weights`,
      `  suggested threshold: ${c.suggestedThreshold.toPrecision(3)} (sends ${(100 * c.suggestedTargetShare).toFixed(0)}% of held-out steps to the target, 95% of those with an advantage)`,
      `  rollout time: ${c.seconds.toFixed(1)} s`,
    ];
    if (result.labelCheck) {
      const a = result.labelCheck.auc;
      const f = (x: number | null) => (x === null ? "–" : x.toFixed(3));
      lines.push(
        `  outcome labels vs the exact checker on ${result.labelCheck.rows} steps: ${(100 * result.labelCheck.agreement).toFixed(1)}% agree; held-out AUC fitted on outcome → exact ${f(a.fitOutcomeVsExact)}, outcome ${f(a.fitOutcomeVsOutcome)}; fitted on exact → exact ${f(a.fitExactVsExact)}, outcome ${f(a.fitExactVsOutcome)}`,
      );
    }
    lines.push(`  written: ${result.path}`);
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await engine.dispose();
  }
}

/** The rollouts' request options from the flags (the engine validates them). */
function rolloutOptions(o: Record<string, unknown>): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  if (o.style !== undefined) request.promptStyle = o.style;
  if (o.maxSteps !== undefined) request.maxSteps = o.maxSteps;
  if (o.maxTokensPerStep !== undefined) request.maxTokensPerStep = o.maxTokensPerStep;
  return request;
}
