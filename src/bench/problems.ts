import { join } from "node:path";
import { packageRoot } from "../engine/index.js";
import { answerMatches } from "../engine/answer.js";
import type { Problem } from "../engine/problem-file.js";
import { ArithmeticChecker } from "../engine/task/arithmetic.js";

export { answerMatches };
// The problem file's format is the engine's: the engine server's calibration reads it too.
export { loadProblems, type Problem } from "../engine/problem-file.js";

/** The committed held-out sample of the embedded task (bench/make-problems.py). */
export function defaultProblemsPath(): string {
  return join(packageRoot(), "bench", "problems", "embedded-heldout.jsonl");
}

/** Whether the exact arithmetic checker can judge every problem (it is the ideal PRM of the embedded task only). */
export function exactCheckerApplies(problems: readonly Problem[]): boolean {
  return problems.every((p) => ArithmeticChecker.fromQuestion(p.question) !== null);
}
