import { createHash } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { answerMatches } from "../answer.js";
import type { ArbitrageEngine } from "../engine.js";
import { ArbitrageError } from "../errors.js";
import { DEFAULT_CONFIDENCE_WEIGHTS } from "../confidence.js";
import { checkModelFile } from "../model-files.js";
import { validateReasonOptions } from "../options.js";
import { isEmbeddedTaskModel } from "../prompt.js";
import { ArithmeticChecker } from "../task/arithmetic.js";
import type { ReasonOptions } from "../types.js";
import { CALIBRATION_FORMAT, CALIBRATION_VERSION, calibrationPath, writeCalibration, type Calibration } from "./calibration-file.js";
import { asWeights, featureVector, fitLogistic, logisticScore, rocAuc } from "./logistic.js";
import { OutcomeJudge } from "./outcome-judge.js";

/**
 * `arbitrage calibrate`: oracle rollouts of the user's own pair on problems with known answers
 * (both models write every step), each step labelled with the target's advantage, and the
 * confidence router's weights fitted to those labels. Each finished problem's rows are appended
 * to a rollout log beside the calibration, so a cancelled or budget-stopped run resumes where it
 * stopped; the calibration file itself is written whole, at the end, or not at all.
 */

export interface CalibrationProblem {
  question: string;
  answer: string;
}

/** exact: the embedded task's checker; outcome: continued by the target to a final answer (outcome-judge.ts); prm: the configured scorer. */
export type LabelMethod = "exact" | "outcome" | "prm";

export interface CalibrateOptions {
  problems: readonly CalibrationProblem[];
  labels: LabelMethod;
  dir: string;
  /** Wall-clock budget (ms) for new rollouts; the problem in flight when it ends is dropped. */
  budgetMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: CalibrationProgress) => void;
  /** Request options of the rollouts (prompt style, step caps); the policy is always the oracle. */
  request?: Record<string, unknown>;
}

export interface CalibrationProgress {
  done: number;
  total: number;
  /** Problems whose rollouts came from an earlier run. */
  resumed: number;
  rows: number;
  positives: number;
  elapsedMs: number;
  etaMs: number | null;
}

/** One draft step of a rollout: the router's features, its label, and the exact checker's label where it applies. */
interface Row {
  f: number[];
  y: 0 | 1;
  exact?: 0 | 1;
}

interface LoggedProblem {
  key: string;
  labels: LabelMethod;
  question: string;
  answer: string;
  /** The oracle path's final answer matched the known one. */
  correct: boolean;
  rows: Row[];
  ms: number;
}

/** Agreement of outcome labels with the exact checker's, on the same steps (the embedded pair only). */
export interface LabelCheck {
  rows: number;
  agreement: number;
  /** Held-out AUC of weights fitted on each label kind, scored against each label kind. */
  auc: { fitOutcomeVsExact: number | null; fitOutcomeVsOutcome: number | null; fitExactVsExact: number | null; fitExactVsOutcome: number | null };
}

export type CalibrationResult =
  | {
      status: "written";
      path: string;
      calibration: Calibration;
      labelCheck: LabelCheck | null;
      /** Problems rolled out now, and taken from an earlier run's log. */
      newProblems: number;
      resumed: number;
      /** The budget ended first: the fit used the problems finished by then. */
      stoppedByBudget: boolean;
      /** Share of problems whose oracle rollout reached the known answer. */
      correctShare: number;
    }
  | { status: "cancelled"; done: number; total: number; logPath: string };

const problemKey = (labels: LabelMethod, p: CalibrationProblem) =>
  createHash("sha256").update(`${labels}\u0000${p.question}\u0000${p.answer}`).digest("hex").slice(0, 16);
/** A quarter of the problems, chosen by their text (stable across reruns and reorderings), is held out for the AUC and threshold. */
const heldOut = (p: CalibrationProblem) => createHash("sha256").update(p.question).digest()[0]! % 4 === 0;

/**
 * The labels a calibration uses when the user names none: the exact checker on the embedded pair
 * when every question is arithmetic (its steps are the checker's format), outcome labels otherwise;
 * "exact" or "outcome" when asked for, and "prm" for a PRM file (the engine's configured scorer).
 */
export async function chooseLabels(
  engine: ArbitrageEngine,
  problems: readonly CalibrationProblem[],
  asked: "exact" | "outcome" | "prm" | "auto",
): Promise<LabelMethod> {
  if (asked !== "auto") return asked;
  const info = engine.info();
  const embedded =
    isEmbeddedTaskModel(await checkModelFile(info.draft.path, "Draft")) && isEmbeddedTaskModel(await checkModelFile(info.target.path, "Target"));
  return embedded && problems.every((p) => ArithmeticChecker.fromQuestion(p.question) !== null) ? "exact" : "outcome";
}

export function rolloutLogPath(dir: string, engine: ArbitrageEngine): string {
  return calibrationPath(dir, engine.pair).replace(/\.json$/, ".rollouts.jsonl");
}

async function readLog(path: string): Promise<Map<string, LoggedProblem>> {
  const done = new Map<string, LoggedProblem>();
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return done;
  }
  // A line cut short by a kill mid-write is skipped: that problem simply runs again.
  for (const line of text.split("\n")) {
    try {
      const p = JSON.parse(line) as LoggedProblem;
      if (typeof p.key === "string" && Array.isArray(p.rows)) done.set(p.key, p);
    } catch {
      /* incomplete line */
    }
  }
  return done;
}

function fail(message: string): never {
  throw new ArbitrageError("calibration-failed", message);
}

export async function calibrate(engine: ArbitrageEngine, opts: CalibrateOptions): Promise<CalibrationResult> {
  const started = performance.now();
  const { problems, labels, dir } = opts;
  if (problems.length === 0) fail("The problem file holds no problems.");
  const request: ReasonOptions = validateReasonOptions({
    ...opts.request,
    policy: "oracle",
    threshold: 0,
    ...(labels === "exact" ? { scorer: "exact" } : {}),
  });
  const exactApplies = problems.every((p) => ArithmeticChecker.fromQuestion(p.question) !== null);
  if (labels === "exact" && !exactApplies) {
    fail('The exact checker labels only integer arithmetic questions such as "(12+7)*3-5". Use --scorer outcome for other problems.');
  }
  const logPath = rolloutLogPath(dir, engine);
  await mkdir(dirname(logPath), { recursive: true });
  const log = await readLog(logPath);
  const pending = problems.filter((p) => !log.has(problemKey(labels, p)));
  const resumed = problems.length - pending.length;

  const budget = opts.budgetMs !== undefined ? AbortSignal.timeout(Math.max(1, opts.budgetMs)) : undefined;
  const signal = AbortSignal.any([opts.signal, budget].filter((s): s is AbortSignal => s !== undefined));
  const continuer = labels === "outcome" ? await engine.forkGenerator("target") : null;
  const count = () => {
    let rows = 0;
    let positives = 0;
    for (const p of problems)
      for (const r of log.get(problemKey(labels, p))?.rows ?? []) {
        rows++;
        positives += r.y;
      }
    return { rows, positives };
  };
  let fresh = 0;
  const report = () => {
    const elapsedMs = performance.now() - started;
    const left = pending.length - fresh;
    const perProblem = fresh > 0 ? elapsedMs / fresh : null;
    let etaMs = perProblem === null ? null : perProblem * left;
    if (etaMs !== null && opts.budgetMs !== undefined) etaMs = Math.min(etaMs, Math.max(0, opts.budgetMs - elapsedMs));
    opts.onProgress?.({ done: resumed + fresh, total: problems.length, resumed, ...count(), elapsedMs, etaMs });
  };
  report();

  for (const p of pending) {
    if (signal.aborted) break;
    const rows: Row[] = [];
    const reference = exactApplies && labels !== "exact" ? ArithmeticChecker.fromQuestion(p.question) : null;
    const scorer = continuer ? new OutcomeJudge(continuer, p.answer, request, signal) : undefined;
    const problemStarted = performance.now();
    let result;
    try {
      result = await engine.reason(p.question, request, {
        signal,
        rollout: {
          scorer,
          onStep: (index, d) => {
            const draft = d.candidates.find((c) => c.model === "draft");
            const target = d.candidates.find((c) => c.model === "target");
            if (!draft || !target || d.scorerScore === undefined || d.targetScorerScore === undefined) return;
            const row: Row = { f: featureVector(draft.confidences ?? [], index), y: d.targetScorerScore - d.scorerScore > 0 ? 1 : 0 };
            if (reference) {
              row.exact = reference.score(target.text) - reference.score(draft.text) > 0 ? 1 : 0;
              reference.apply(d.chosen.text);
            }
            rows.push(row);
          },
        },
      });
    } catch (e) {
      if (signal.aborted) break;
      throw e;
    }
    if (result.finishReason === "cancelled" || signal.aborted) break;
    const entry: LoggedProblem = {
      key: problemKey(labels, p),
      labels,
      question: p.question,
      answer: p.answer,
      correct: answerMatches(result.answer, p.answer),
      rows,
      ms: performance.now() - problemStarted,
    };
    // One line per finished problem, appended whole: what was done survives a cancel or a kill.
    await appendFile(logPath, `${JSON.stringify(entry)}\n`);
    log.set(entry.key, entry);
    fresh++;
    report();
  }

  const done = resumed + fresh;
  if (done < problems.length) {
    const byBudget = budget?.aborted === true && opts.signal?.aborted !== true;
    if (!byBudget) return { status: "cancelled", done, total: problems.length, logPath };
    if (count().rows === 0) {
      fail(
        `The budget of ${((opts.budgetMs ?? 0) / 60_000).toFixed(1)} minutes ended before any problem was finished, so there is no labelled step to fit: raise --budget-minutes (the rollouts already done are kept and resume).`,
      );
    }
  }
  const finished = problems.map((p) => log.get(problemKey(labels, p))).filter((e): e is LoggedProblem => e !== undefined);
  const fitted = fitCalibration(finished, labels);
  const calibration: Calibration = {
    format: CALIBRATION_FORMAT,
    version: CALIBRATION_VERSION,
    createdAt: new Date().toISOString(),
    pair: engine.pair,
    labelMethod: labels,
    ...fitted.calibration,
    seconds: Math.round(finished.reduce((a, e) => a + e.ms, 0) / 100) / 10,
  };
  const path = await writeCalibration(dir, calibration);
  return {
    status: "written",
    path,
    calibration,
    labelCheck: fitted.labelCheck,
    newProblems: fresh,
    resumed,
    stoppedByBudget: done < problems.length,
    correctShare: finished.filter((e) => e.correct).length / finished.length,
  };
}

const MIN_TRAIN_EACH = 5;
const MIN_HELDOUT_EACH = 2;

function fitCalibration(finished: LoggedProblem[], labels: LabelMethod) {
  if (!finished.some((e) => e.correct)) {
    fail(
      `On none of the ${finished.length} problems did the oracle rollout reach the known answer, so the labels say nothing: check the "answer" fields, the prompt style (--style) and the step caps.`,
    );
  }
  const split = (test: boolean) => finished.filter((e) => heldOut(e) === test).flatMap((e) => e.rows);
  const train = split(false);
  const held = split(true);
  const positives = (rows: Row[]) => rows.reduce((a, r) => a + r.y, 0);
  // Fewer steps of either kind than this and the weights or the AUC would be noise.
  for (const [name, rows, least] of [
    ["training", train, MIN_TRAIN_EACH],
    ["held-out", held, MIN_HELDOUT_EACH],
  ] as const) {
    const pos = positives(rows);
    if (pos < least || rows.length - pos < least) {
      fail(
        `Too few labelled steps to fit and check the router: the ${name} problems gave ${rows.length} steps, ${pos} of them with a target advantage (at least ${least} of each kind are needed). Use more problems (a quarter is held out) or problems the draft gets wrong more often.`,
      );
    }
  }
  const w = asWeights(
    fitLogistic(
      train.map((r) => r.f),
      train.map((r) => r.y),
    ),
  );
  const scores = held.map((r) => logisticScore(w, r.f));
  const ys = held.map((r) => r.y);
  const auc = rocAuc(scores, ys)!;
  const defaultWeightsAuc = rocAuc(
    held.map((r) => logisticScore(DEFAULT_CONFIDENCE_WEIGHTS, r.f)),
    ys,
  );
  // The highest threshold that still sends 95% of the held-out advantage steps to the target.
  const positiveScores = scores.filter((_, i) => ys[i] === 1).sort((a, b) => a - b);
  const suggestedThreshold = positiveScores[Math.floor(0.05 * positiveScores.length)]!;
  const suggestedTargetShare = scores.filter((s) => s >= suggestedThreshold).length / scores.length;
  const heldProblems = finished.filter((e) => heldOut(e)).length;
  const counts = (rows: Row[], n: number) => ({ problems: n, rows: rows.length, positives: positives(rows) });
  const calibration = {
    router: { kind: "confidence" as const, weights: w },
    train: counts(train, finished.length - heldProblems),
    heldout: { ...counts(held, heldProblems), auc, defaultWeightsAuc },
    suggestedThreshold,
    suggestedTargetShare,
  };
  return { calibration, labelCheck: labels === "outcome" ? labelCheck(train, held) : null };
}

/** On rows that carry both labels: how the outcome labels compare with the exact checker's. */
function labelCheck(train: Row[], held: Row[]): LabelCheck | null {
  const both = (rows: Row[]) => rows.filter((r): r is Row & { exact: 0 | 1 } => r.exact !== undefined);
  const tr = both(train);
  const he = both(held);
  if (tr.length === 0 || he.length === 0) return null;
  const all = [...tr, ...he];
  const fitOn = (label: (r: Row & { exact: 0 | 1 }) => number) => {
    const ys = tr.map(label);
    const pos = ys.reduce((a, b) => a + b, 0);
    return pos === 0 || pos === ys.length
      ? null
      : asWeights(
          fitLogistic(
            tr.map((r) => r.f),
            ys,
          ),
        );
  };
  const outcomeW = fitOn((r) => r.y);
  const exactW = fitOn((r) => r.exact);
  const aucOf = (w: ReturnType<typeof fitOn>, label: (r: Row & { exact: 0 | 1 }) => number) =>
    w
      ? rocAuc(
          he.map((r) => logisticScore(w, r.f)),
          he.map(label),
        )
      : null;
  return {
    rows: all.length,
    agreement: all.filter((r) => r.y === r.exact).length / all.length,
    auc: {
      fitOutcomeVsExact: aucOf(outcomeW, (r) => r.exact),
      fitOutcomeVsOutcome: aucOf(outcomeW, (r) => r.y),
      fitExactVsExact: aucOf(exactW, (r) => r.exact),
      fitExactVsOutcome: aucOf(exactW, (r) => r.y),
    },
  };
}
