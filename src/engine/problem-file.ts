/**
 * A problem file: JSONL, one {"question", "answer"} per line. The bench sweeps such files and
 * `arbitrage calibrate` (CLI and engine server) rolls them out.
 */
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { ArbitrageError } from "./errors.js";
import { check, recordOf } from "./options.js";

/** One problem: a question and its reference final answer. */
export interface Problem {
  question: string;
  answer: string;
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
 * Reads a JSONL file with one {"question", "answer"} object per line (blank lines ignored).
 * `extend` reads more of each line (the bench's code problems); it throws what is wrong with it.
 */
export function loadProblems<T extends Problem = Problem>(path: string, extend?: (line: unknown, problem: Problem) => T): T[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ArbitrageError("invalid-option", `Cannot read the problem file ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  const problems: T[] = [];
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
    try {
      problems.push(extend ? extend(value, r.value) : (r.value as T));
    } catch (e) {
      throw new ArbitrageError("invalid-option", `${where}: ${(e as Error).message}`);
    }
  });
  if (problems.length === 0) throw new ArbitrageError("invalid-option", `The problem file ${JSON.stringify(path)} holds no problems.`);
  return problems;
}
