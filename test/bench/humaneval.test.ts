import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CodeSandbox } from "../../src/bench/code-sandbox.js";
import { extractCode, gradeCodeAnswer, humanEvalProgram } from "../../src/bench/humaneval.js";
import { loadProblems, type Problem } from "../../src/bench/problems.js";
import { packageRoot } from "../../src/engine/paths.js";

const HUMANEVAL = join(packageRoot(), "bench", "problems", "humaneval.jsonl");

/** The committed file's canonical solutions, by task id (the loader keeps only what grading needs). */
function canonicalSolutions(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(HUMANEVAL, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as { task_id: string; canonical_solution: string };
    out.set(row.task_id, row.canonical_solution);
  }
  return out;
}

describe("HumanEval grading", () => {
  let sandbox: CodeSandbox;
  let problems: Problem[];
  let canonical: Map<string, string>;
  const byId = (id: string) => problems.find((p) => p.code?.taskId === id)!;

  before(async () => {
    sandbox = await CodeSandbox.create({ limits: { timeMs: 5000 } });
    problems = loadProblems(HUMANEVAL);
    canonical = canonicalSolutions();
  });

  it("loads all 164 problems as code problems with their tests", () => {
    assert.equal(problems.length, 164);
    assert.ok(problems.every((p) => p.code && p.question === p.code.prompt && /def check\(candidate\)/.test(p.code.test)));
    assert.equal(byId("HumanEval/53").code!.entryPoint, "add");
    const gsm = loadProblems(join(packageRoot(), "bench", "problems", "gsm8k-test-200.jsonl"));
    assert.equal(gsm.length, 200);
    assert.ok(gsm.every((p) => p.code === undefined && /^-?\d+(\.\d+)?$/.test(p.answer)));
  });

  it("takes the last fenced block, a cut-off block to the end, or the whole text", () => {
    assert.equal(extractCode("First:\n```python\nx = 1\n```\nThen:\n```py\ny = 2\n```\nDone."), "y = 2\n");
    assert.equal(extractCode("```python\nx = 1\n```\nNow the fix:\n```python\ndef f():\n    return 3"), "def f():\n    return 3");
    assert.equal(extractCode("    return x + y\n"), "    return x + y\n");
    // A usage example after the function: the block that defines the entry point is the code.
    const withUsage = "```python\ndef add(x, y):\n    return x + y\n```\nUsage:\n```python\nprint(add(2, 3))\n```\n";
    assert.equal(extractCode(withUsage, "add"), "def add(x, y):\n    return x + y\n");
    assert.equal(extractCode(withUsage), "print(add(2, 3))\n");
  });

  const ids = ["HumanEval/0", "HumanEval/2", "HumanEval/12", "HumanEval/53", "HumanEval/161"];
  for (const id of ids) {
    it(`${id}: the canonical solution passes as a body and as an instruct answer's whole function`, async () => {
      const p = byId(id);
      const body = canonical.get(id)!;
      const asBody = await gradeCodeAnswer(sandbox, p.code!, body);
      assert.equal(asBody.passed, true, asBody.reason);
      // An instruct answer: prose, then the whole function in a fence, its imports left out.
      const fn = p.code!.prompt.replace(/^(from|import) .*\n/gm, "") + body;
      const instruct = `The function compares each pair.\n\n\`\`\`python\n${fn}\n\`\`\`\n\nThis returns the right value.`;
      const asInstruct = await gradeCodeAnswer(sandbox, p.code!, instruct);
      assert.equal(asInstruct.passed, true, asInstruct.reason);
    });
  }

  it("passes an answer ending in a usage example; fails a wrong result, a syntax error, a missing function, a hang", async () => {
    const p = byId("HumanEval/53");
    const wrong = await gradeCodeAnswer(sandbox, p.code!, "```python\ndef add(x: int, y: int):\n    return x - y\n```");
    assert.equal(wrong.passed, false);
    assert.match(wrong.reason, /AssertionError/);
    const usage = await gradeCodeAnswer(
      sandbox,
      p.code!,
      "```python\ndef add(x: int, y: int):\n    return x + y\n```\n\n```python\nprint(add(2, 3))\n```",
    );
    assert.equal(usage.passed, true, usage.reason);
    const syntax = await gradeCodeAnswer(sandbox, p.code!, "```python\ndef add(x, y)\n    return x + y\n```");
    assert.equal(syntax.passed, false);
    assert.match(syntax.reason, /SyntaxError/);
    const renamed = await gradeCodeAnswer(sandbox, byId("HumanEval/2").code!, "```python\ndef truncate(number):\n    return number % 1.0\n```");
    assert.equal(renamed.passed, false, "a function under another name is not the entry point");
    const hang = await gradeCodeAnswer(sandbox, byId("HumanEval/12").code!, "    while True:\n        pass\n");
    assert.equal(hang.passed, false);
    assert.deepEqual(hang.limits, ["time"]);
    // The canonical solution with its comparison flipped fails the problem's own tests.
    const flipped = canonical.get("HumanEval/0")!.replace("distance < threshold", "distance > threshold");
    assert.notEqual(flipped, canonical.get("HumanEval/0"));
    assert.equal((await gradeCodeAnswer(sandbox, byId("HumanEval/0").code!, flipped)).passed, false);
  });

  it("builds the HumanEval program: the code, the tests, then check(entry_point)", () => {
    const program = humanEvalProgram(byId("HumanEval/53").code!, "return x + y");
    assert.match(program, /def add\(x: int, y: int\):[\s\S]*"""\n {4}return x \+ y\n\n[\s\S]*def check\(candidate\)/);
    assert.ok(program.trimEnd().endsWith("check(add)"));
  });

  it("refuses a code line without its tests, naming the line", () => {
    const dir = mkdtempSync(join(tmpdir(), "arbitrage-he-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "bad.jsonl");
    writeFileSync(path, JSON.stringify({ question: "def f():", answer: "x", task_id: "t", prompt: "def f():", entry_point: "f" }) + "\n");
    assert.throws(() => loadProblems(path), /bad\.jsonl:1: a code problem .* needs a non-empty "test" string\./);
  });
});
