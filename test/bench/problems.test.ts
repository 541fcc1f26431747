import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ArbitrageError } from "../../src/engine/errors.js";
import { loadProblems } from "../../src/bench/problems.js";

/** Problem files (JSONL) are user input: each bad line is named by file and line, with what it needs. */
describe("problem files", () => {
  const dir = mkdtempSync(join(tmpdir(), "arbitrage-problems-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (lines: string[]) => {
    const path = join(dir, `p${Math.random().toString(36).slice(2)}.jsonl`);
    writeFileSync(path, `${lines.join("\n")}\n`);
    return path;
  };

  it("reads questions and answers, numbers as strings, ignoring blank lines and other fields", () => {
    const path = file([JSON.stringify({ question: "1+2", answer: 3, id: "a" }), "", JSON.stringify({ question: "What is 2*4?", answer: "8" })]);
    assert.deepEqual(loadProblems(path), [
      { question: "1+2", answer: "3" },
      { question: "What is 2*4?", answer: "8" },
    ]);
  });

  const bad: [string, string, RegExp, string[]][] = [
    ["an array", "[1, 2]", /:2: needs a non-empty "question" string\.$/, []],
    ["a number", "7", /:2: needs a non-empty "question" string\.$/, []],
    ["a blank question", JSON.stringify({ question: "  ", answer: 1 }), /:2: needs a non-empty "question" string\.$/, ["question"]],
    ["no answer", JSON.stringify({ question: "1+2" }), /:2: needs an "answer" \(string or number\)\.$/, ["answer"]],
    ["a null answer", JSON.stringify({ question: "1+2", answer: null }), /:2: needs an "answer" \(string or number\)\.$/, ["answer"]],
  ];
  for (const [name, line, message, path] of bad) {
    it(`a line that is ${name} is refused naming its line`, () => {
      const p = file([JSON.stringify({ question: "1+1", answer: 2 }), line]);
      assert.throws(
        () => loadProblems(p),
        (e: unknown) => {
          assert.ok(e instanceof ArbitrageError && e.code === "invalid-option", String(e));
          assert.ok(e.message.startsWith(p), e.message);
          assert.match(e.message, message);
          assert.deepEqual(e.path, path);
          return true;
        },
      );
    });
  }
});
