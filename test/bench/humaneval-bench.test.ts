import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ResultRow } from "../../src/bench/aggregate.js";
import { realModelPath, THREADS } from "../real/helpers.js";

/**
 * `arbitrage bench` grading code by tests on the real same-family pair (Qwen2.5-Coder 0.5B →
 * 1.5B Instruct): one HumanEval problem, short caps, the target alone and random routing at 1
 * (every step the draft's). The target writes `add` right; the grading runs its code in the
 * sandbox, so a correct row proves the answer was extracted, built into the HumanEval program
 * and passed the problem's own tests.
 */
const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/arbitrage.mjs");
const BUILT = existsSync(join(ROOT, "dist/cli.mjs"));

describe("arbitrage bench on HumanEval (Qwen2.5-Coder 0.5B → 1.5B)", () => {
  let dir: string;
  let out: { meta: { notes: string[]; request: Record<string, unknown> }; results: ResultRow[] };
  let stderr = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "arbitrage-humaneval-bench-"));
    const line = readFileSync(join(ROOT, "bench/problems/humaneval.jsonl"), "utf8")
      .split("\n")
      .find((l) => l.includes('"task_id": "HumanEval/53"'))!;
    const problems = join(dir, "add.jsonl");
    writeFileSync(problems, `${line}\n`);
    const args = [
      "bench",
      "--draft",
      realModelPath("qwen2.5-coder-0.5b-instruct"),
      "--target",
      realModelPath("qwen2.5-coder-1.5b-instruct"),
      "--threads",
      String(THREADS),
      "--context-size",
      "1024",
      "--problems",
      problems,
      "--warmup",
      "0",
      "--policies",
      "target,random",
      "--thresholds",
      "1",
      "--refine",
      "0",
      "--max-steps",
      "4",
      "--max-tokens-per-step",
      "64",
      "--no-plot",
      "--json",
    ];
    const argv = BUILT ? [BIN, ...args] : ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args];
    const r = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: "utf8", timeout: 400_000, env: { ...process.env, NO_COLOR: "1" } });
    stderr = r.stderr;
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    out = JSON.parse(r.stdout);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("asks for code and grades it by the problem's tests", () => {
    assert.equal(out.meta.request.promptStyle, "code");
    assert.ok(
      out.meta.notes.some((n) => n.includes("code problems: pass@1")),
      stderr.slice(-500),
    );
    const target = out.results.find((r) => r.method === "target")!;
    assert.equal(target.correct, 1, "the target's add() passes HumanEval/53's tests");
    assert.deepEqual(target.testFailures, [null]);
    const random = out.results.find((r) => r.method === "random" && r.threshold === 1)!;
    assert.equal(random.stepShare.draft, 1, "random routing at 1 keeps every draft step");
    assert.equal(random.testFailures?.length, 1);
    assert.equal(random.testFailures![0] === null, random.correct === 1, "a failure reason exactly where the tests failed");
    assert.ok(random.busyShareOfTarget.draft! > 0 && random.busyShareOfTarget.target === 0, JSON.stringify(random.busyShareOfTarget));
  });
});
