import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { CodeSandbox } from "../../src/bench/code-sandbox.js";
import { answerMatches, exactCheckerApplies, loadProblems, type Problem } from "../../src/bench/problems.js";
import { extractFinalAnswer } from "../../src/engine/answer.js";
import { packageRoot } from "../../src/engine/paths.js";

/** The committed code-reasoning sets (bench/make-code-reasoning.py). */
const SETS = ["test", "train"].map((name) => ({ name, path: join(packageRoot(), "bench", "problems", `code-reasoning-${name}.jsonl`) }));

interface Row {
  id: string;
  question: string;
  answer: string;
}

/** The raw lines: the bench's loader keeps only the question and the answer, not the id. */
function rows(path: string): Row[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Row);
}

function programOf(question: string): string {
  const m = /```python\n([\s\S]*?)```/.exec(question);
  assert.ok(m, `no python fence in ${JSON.stringify(question.slice(0, 80))}`);
  return m[1]!;
}

/** A failing-test question names its test, the call the assertion makes and the value it expects. */
function assertionOf(question: string): { test: string; call: string; expected: string } | null {
  const m = /The assertion in `(\w+)` compares `(.+?)` with `(.+?)`\. What value does `(.+?)` actually return/.exec(question);
  if (!m) return null;
  assert.equal(m[4], m[2], "the question asks about the call the assertion makes");
  return { test: m[1]!, call: m[2]!, expected: m[3]! };
}

/** The template a problem was written from: its id is "<set>-<index>-<template>". */
const templateOf = (row: Row) => row.id.replace(/^\w+-\d+-/, "");

describe("code-reasoning problem sets", () => {
  const all = SETS.map((s) => ({ ...s, rows: rows(s.path) }));

  it("parse with the bench's loader as answer-graded problems with unique ids", () => {
    for (const s of all) {
      const problems: Problem[] = loadProblems(s.path);
      assert.equal(problems.length, s.rows.length);
      assert.ok(problems.length >= 100, `${s.name}: ${problems.length} problems`);
      assert.ok(
        problems.every((p) => p.code === undefined),
        "graded by the answer, not by tests",
      );
      assert.equal(exactCheckerApplies(problems), false, "the arithmetic checker does not judge code questions");
      for (const [i, p] of problems.entries()) {
        assert.equal(p.answer, s.rows[i]!.answer);
        assert.match(p.question, /\\boxed\{\}/, "the question asks for the final answer in \\boxed{}");
        assert.ok(!p.answer.includes("\n") && p.answer.trim() === p.answer && p.answer !== "", `${s.rows[i]!.id}: ${JSON.stringify(p.answer)}`);
      }
    }
    const ids = all.flatMap((s) => s.rows.map((r) => r.id));
    assert.equal(new Set(ids).size, ids.length, "ids are unique across both sets");
  });

  it("share no program between the test and the train set, and repeat none within a set", () => {
    const [test, train] = all.map((s) => s.rows.map((r) => programOf(r.question)));
    const inTest = new Set(test);
    assert.equal(inTest.size, test!.length);
    assert.equal(new Set(train).size, train!.length);
    const shared = train!.filter((p) => inTest.has(p));
    assert.deepEqual(shared, [], "programs in both sets");
  });

  it("mix both kinds of question and every template in each set", () => {
    for (const s of all) {
      const templates = new Set(s.rows.map(templateOf));
      assert.ok(templates.size >= 20, `${s.name}: ${templates.size} templates`);
      const failing = s.rows.filter((r) => assertionOf(r.question) !== null).length;
      assert.ok(failing > 0 && failing < s.rows.length, `${s.name}: ${failing} failing-test questions`);
      assert.equal(s.rows.length - failing, s.rows.filter((r) => r.question.startsWith("What does this Python program print?")).length);
    }
  });

  it("grade every answer written as \\boxed{} or as 'The answer is …'", () => {
    for (const s of all) {
      for (const r of s.rows) {
        for (const text of [
          `So the output is \\boxed{${r.answer}}.`,
          `The program runs.\n\nThe answer is ${r.answer}.`,
          `The answer is ${r.answer}`,
        ]) {
          const got = extractFinalAnswer(text);
          assert.ok(
            answerMatches(got, r.answer),
            `${r.id}: ${JSON.stringify(text)} read as ${JSON.stringify(got)}, want ${JSON.stringify(r.answer)}`,
          );
        }
        // A wrong answer must not grade: the check above can fail.
        assert.equal(answerMatches(extractFinalAnswer(`\\boxed{${r.answer}x}`), r.answer), false);
      }
    }
  });

  describe("answers are what Python prints in the bench's sandbox", () => {
    let sandbox: CodeSandbox;
    before(async () => {
      sandbox = await CodeSandbox.create({ limits: { timeMs: 10_000 } });
    });

    // One problem per template, alternating sets: problem i of either set is from template i.
    const sample = () => {
      const templates = new Set(all[0]!.rows.map(templateOf)).size;
      return Array.from({ length: templates }, (_, i) => all[i % 2]!.rows[i]!);
    };

    it("for one problem of every template", async () => {
      const seen = new Set<string>();
      for (const r of sample()) {
        seen.add(templateOf(r));
        const program = programOf(r.question);
        const assertion = assertionOf(r.question);
        if (assertion === null) {
          const run = await sandbox.run(program);
          assert.equal(run.passed, true, `${r.id}: ${run.reason}`);
          assert.equal(run.stdout, `${r.answer}\n`, r.id);
          continue;
        }
        const { test, call, expected } = assertion;
        const failing = await sandbox.run(`${program}\n${test}()\n`);
        assert.equal(failing.passed, false, `${r.id}: the test passes`);
        assert.match(failing.stderr, /AssertionError/, r.id);
        // The same test with its assertion turned into a print of the call it checks.
        const line = `assert ${call} == ${expected}`;
        assert.equal(program.split(line).length, 2, `${r.id}: the program holds \`${line}\` once`);
        const printing = await sandbox.run(`${program.replace(line, `print(${call})`)}\n${test}()\n`);
        assert.equal(printing.passed, true, `${r.id}: ${printing.reason}`);
        assert.equal(printing.stdout, `${r.answer}\n`, r.id);
        assert.notEqual(r.answer, expected.replace(/^"|"$/g, ""), `${r.id}: the answer is the expected value`);
      }
      assert.equal(seen.size, new Set(all.flatMap((s) => s.rows.map(templateOf))).size, "the sample covers every template");
    });
  });
});
