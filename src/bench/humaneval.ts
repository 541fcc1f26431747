import * as v from "valibot";
import { check, recordOf } from "../engine/options.js";
import type { CodeSandbox } from "./code-sandbox.js";
import type { CodeTask } from "./code-task.js";
import type { SandboxResult } from "./sandbox-types.js";

/**
 * HumanEval grading: pass@1 of one answer, by the problem's own tests run on the answer's final
 * code in the sandbox. The program is built the HumanEval way (code, then `test`, then
 * `check(entry_point)`): an instruct model answers with a whole function, which is the code; an
 * answer holding only the body is appended to the problem's prompt, as a completion model's is.
 */

const needs = (key: string | undefined) => `needs a non-empty "${key ?? "task_id"}" string.`;
const text = (key: string) => v.pipe(v.string(needs(key)), v.nonEmpty(needs(key)));
const CodeTaskLine = recordOf({ task_id: text("task_id"), prompt: text("prompt"), entry_point: text("entry_point"), test: text("test") }, needs);

/** The code task of a problem line that carries HumanEval's fields (`entry_point` and `test`), or null for an answer-graded line. */
export function codeTaskOf(line: unknown): { task: CodeTask } | { task: null } | { error: string } {
  if (typeof line !== "object" || line === null || !("entry_point" in line || "test" in line)) return { task: null };
  const r = check(CodeTaskLine, line);
  if (!r.ok) return { error: `a code problem (it has "entry_point" or "test") ${r.issues[0]!.message}` };
  return { task: { taskId: r.value.task_id, prompt: r.value.prompt, entryPoint: r.value.entry_point, test: r.value.test } };
}

const FENCE = /^[ \t]*```[^\n`]*\n([\s\S]*?)^[ \t]*```[ \t]*$/gm;
const OPEN_FENCE = /^[ \t]*```[^\n`]*\n/gm;

/** The fenced code blocks of an answer in order; a fence left open (the answer was cut off) runs to the end. */
function codeBlocks(text: string): string[] {
  const closed = [...text.matchAll(FENCE)];
  const blocks = closed.map((m) => m[1]!);
  const lastClosed = closed.at(-1);
  const lastOpen = [...text.matchAll(OPEN_FENCE)].at(-1);
  // An opening fence after the last closed block (not the closing fence of it) starts a cut-off block.
  if (lastOpen && (!lastClosed || lastOpen.index! >= lastClosed.index! + lastClosed[0].length))
    blocks.push(text.slice(lastOpen.index! + lastOpen[0].length));
  return blocks;
}

/**
 * The final Python code of an answer: the last fenced block that defines `entryPoint` (an answer
 * often ends with a usage example in a block of its own), else the last fenced block, else the
 * whole text.
 */
export function extractCode(answer: string, entryPoint?: string): string {
  const text = answer.replace(/\r\n/g, "\n");
  const blocks = codeBlocks(text);
  const defining = entryPoint === undefined ? undefined : blocks.findLast((b) => definesFunction(b, entryPoint));
  return defining ?? blocks.at(-1) ?? text;
}

function definesFunction(code: string, name: string): boolean {
  return new RegExp(`^\\s*(async\\s+)?def\\s+${name.replace(/[^\w]/g, "")}\\s*\\(`, "m").test(code);
}

/** The prompt's imports (`from typing import List`), which an answer restating the function often leaves out. */
function importsOf(prompt: string): string {
  return prompt
    .split("\n")
    .filter((l) => /^(import|from)\s/.test(l))
    .join("\n");
}

/** The program that tests one answer: its code (or the prompt + the body it holds), the tests, and the call of `check`. */
export function humanEvalProgram(task: CodeTask, answer: string): string {
  const code = extractCode(answer, task.entryPoint);
  let solution: string;
  if (definesFunction(code, task.entryPoint)) {
    solution = `${importsOf(task.prompt)}\n${code}`;
  } else {
    // A body alone: indent it under the prompt's signature if it came unindented.
    const lines = code.replace(/^\n+/, "").split("\n");
    const indented = lines.some((l) => /^\S/.test(l)) ? lines.map((l) => (l.trim() === "" ? l : `    ${l}`)) : lines;
    solution = `${task.prompt}${indented.join("\n")}`;
  }
  return `${solution}\n\n${task.test}\n\ncheck(${task.entryPoint})\n`;
}

/** Runs the problem's tests on the answer's code; passed is pass@1 for this answer. */
export async function gradeCodeAnswer(sandbox: CodeSandbox, task: CodeTask, answer: string): Promise<SandboxResult> {
  return sandbox.run(humanEvalProgram(task, answer));
}
