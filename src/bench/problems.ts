import { join } from "node:path";
import { packageRoot } from "../engine/index.js";
import { answerMatches } from "../engine/answer.js";
import { loadProblems as loadProblemFile, type Problem as FileProblem } from "../engine/problem-file.js";
import { ArithmeticChecker } from "../engine/task/arithmetic.js";
import type { CodeTask } from "./code-task.js";
import { codeTaskOf } from "./humaneval.js";

export { answerMatches };

/** One benchmark problem: a question and its reference final answer, or the tests that grade its code. */
export interface Problem extends FileProblem {
  /** Graded by running these tests on the answer's code (HumanEval lines), not by `answer`. */
  code?: CodeTask;
}

/**
 * The bench's problem file: the engine's JSONL of {"question", "answer"}, where a line with
 * HumanEval's fields ("task_id", "prompt", "entry_point", "test") is a code problem.
 */
export function loadProblems(path: string): Problem[] {
  return loadProblemFile<Problem>(path, (line, problem) => {
    const code = codeTaskOf(line);
    if ("error" in code) throw new Error(code.error);
    return code.task ? { ...problem, code: code.task } : problem;
  });
}

/** The committed held-out sample of the embedded task (bench/make-problems.py). */
export function defaultProblemsPath(): string {
  return join(packageRoot(), "bench", "problems", "embedded-heldout.jsonl");
}

/** Whether the exact arithmetic checker can judge every problem (it is the ideal PRM of the embedded task only). */
export function exactCheckerApplies(problems: readonly Problem[]): boolean {
  return problems.every((p) => !p.code && ArithmeticChecker.fromQuestion(p.question) !== null);
}
