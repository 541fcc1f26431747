import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { ArbitrageError, packageRoot } from "../engine/index.js";
import { check, recordOf } from "../engine/options.js";
import { answerMatches } from "../engine/answer.js";

export { answerMatches };
import { ArithmeticChecker } from "../engine/task/arithmetic.js";
import type { CodeTask } from "./code-task.js";
import { codeTaskOf } from "./humaneval.js";

/** One benchmark problem: a question and its reference final answer, or the tests that grade its code. */
export interface Problem {
  question: string;
  answer: string;
  /** Graded by running these tests on the answer's code (HumanEval lines), not by `answer`. */
  code?: CodeTask;
}

/** The committed held-out sample of the embedded task (bench/make-problems.py). */
export function defaultProblemsPath(): string {
  return join(packageRoot(), "bench", "problems", "embedded-heldout.jsonl");
}

const QUESTION = 'needs a non-empty "question" string.';
const ANSWER = 'needs an "answer" (string or number).';
/** One line of a problem file; other fields (ids, sources) are ignored. */
const ProblemSchema = recordOf(
  {
    question: v.pipe(
      v.string(QUESTION),
      v.check((q) => q.trim() !== "", QUESTION),
    ),
    answer: v.pipe(v.union([v.string(), v.number()], ANSWER), v.transform(String)),
  },
  (key) => (key === "answer" ? ANSWER : QUESTION),
);

/**
 * Reads a JSONL file with one {"question", "answer"} object per line (blank lines ignored). A line
 * with HumanEval's fields ("task_id", "prompt", "entry_point", "test") is a code problem.
 */
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
    const r = check(ProblemSchema, value);
    if (!r.ok) throw new ArbitrageError("invalid-option", `${where}: ${r.issues[0]!.message}`, { path: r.issues[0]!.path });
    const code = codeTaskOf(value);
    if ("error" in code) throw new ArbitrageError("invalid-option", `${where}: ${code.error}`);
    problems.push(code.task ? { ...r.value, code: code.task } : r.value);
  });
  if (problems.length === 0) throw new ArbitrageError("invalid-option", `The problem file ${JSON.stringify(path)} holds no problems.`);
  return problems;
}

/** Whether the exact arithmetic checker can judge every problem (it is the ideal PRM of the embedded task only). */
export function exactCheckerApplies(problems: readonly Problem[]): boolean {
  return problems.every((p) => !p.code && ArithmeticChecker.fromQuestion(p.question) !== null);
}
