import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ArbitrageError, packageRoot } from "../engine/index.js";
import { answerMatches } from "../engine/answer.js";

export { answerMatches };
import { ArithmeticChecker } from "../engine/task/arithmetic.js";

/** One benchmark problem: a question and its reference final answer. */
export interface Problem {
  question: string;
  answer: string;
}

/** The committed held-out sample of the embedded task (bench/make-problems.py). */
export function defaultProblemsPath(): string {
  return join(packageRoot(), "bench", "problems", "embedded-heldout.jsonl");
}

/** Reads a JSONL file with one {"question", "answer"} object per line (blank lines ignored). */
export function loadProblems(path: string): Problem[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ArbitrageError("invalid-option", `Cannot read the problem file ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  const problems: Problem[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${path}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new ArbitrageError("invalid-option", `${where}: not JSON (${(e as Error).message}). Each line must be {"question": ..., "answer": ...}.`);
    }
    const rec = value as Record<string, unknown>;
    if (typeof rec !== "object" || rec === null || typeof rec.question !== "string" || rec.question.trim() === "") {
      throw new ArbitrageError("invalid-option", `${where}: needs a non-empty "question" string.`);
    }
    if (typeof rec.answer !== "string" && typeof rec.answer !== "number") {
      throw new ArbitrageError("invalid-option", `${where}: needs an "answer" (string or number).`);
    }
    problems.push({ question: rec.question, answer: String(rec.answer) });
  });
  if (problems.length === 0) throw new ArbitrageError("invalid-option", `The problem file ${JSON.stringify(path)} holds no problems.`);
  return problems;
}

/** Whether the exact arithmetic checker can judge every problem (it is the ideal PRM of the embedded task only). */
export function exactCheckerApplies(problems: readonly Problem[]): boolean {
  return problems.every((p) => ArithmeticChecker.fromQuestion(p.question) !== null);
}
