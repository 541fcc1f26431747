import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadProblems } from "../../src/engine/problem-file.js";
import { calibrate, rolloutLogPath, type CalibrationProblem } from "../../src/engine/calibration/calibrate.js";
import { calibrationPath, parseCalibration, type Calibration } from "../../src/engine/calibration/calibration-file.js";
import { ArbitrageEngine, isArbitrageError } from "../../src/engine/index.js";
import { engine as makeEngine, THREADS } from "./helpers.js";

/**
 * `arbitrage calibrate` on the real embedded pair: rollouts, the fitted file keyed by the pair,
 * the engine and CLI picking it up, resumption after a cancel, and every bad input the issue
 * names ending in a clear error or notice with no calibration file left half-written or in use.
 */
const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/arbitrage.mjs");
const ALL = loadProblems(join(ROOT, "bench/problems/calibration-embedded.jsonl"));
const SET = ALL.slice(0, 48);

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whether a run left a calibration (or a temporary file on the way to one) in the folder. */
function calibrationFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.endsWith(".rollouts.jsonl")) : [];
}

async function expectCalibrationError(run: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(run, (e: unknown) => {
    assert.ok(isArbitrageError(e), `an ArbitrageError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

describe("router calibration (embedded pair)", () => {
  let root: string;
  let engine: ArbitrageEngine;
  let written: Calibration;
  let writtenDir: string;
  const dir = (name: string) => join(root, name);
  before(async () => {
    root = mkdtempSync(join(tmpdir(), "arbitrage-calibration-"));
    engine = await makeEngine();
  });
  after(async () => {
    await engine?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it("calibrates with exact labels, writes a file keyed by the pair, and the engine and CLI use it", async () => {
    writtenDir = dir("exact");
    const progress: number[] = [];
    const result = await calibrate(engine, { problems: SET, labels: "exact", dir: writtenDir, onProgress: (p) => progress.push(p.done) });
    assert.equal(result.status, "written");
    if (result.status !== "written") return;
    assert.equal(result.path, calibrationPath(writtenDir, engine.pair));
    assert.deepEqual(calibrationFiles(writtenDir), [result.path.split("/").pop()], "one file, no temporary left");
    const parsed = parseCalibration(readFileSync(result.path, "utf8"), result.path);
    assert.ok("calibration" in parsed, JSON.stringify(parsed));
    written = parsed.calibration;
    assert.deepEqual(written.pair, engine.pair);
    assert.equal(written.labelMethod, "exact");
    assert.equal(written.train.problems + written.heldout.problems, SET.length);
    assert.ok(written.heldout.positives > 0 && written.heldout.positives < written.heldout.rows);
    assert.ok(written.heldout.auc > 0.7, `held-out AUC ${written.heldout.auc}`);
    assert.ok(result.correctShare > 0.8, "the embedded oracle answers nearly every problem");
    assert.deepEqual(progress.at(-1), SET.length);
    assert.ok(progress.length >= SET.length, "progress after every problem");

    const calibrated = await ArbitrageEngine.create({ threads: THREADS, router: "confidence" }, { calibrationDir: writtenDir });
    const plain = await ArbitrageEngine.create({ threads: THREADS, router: "confidence" }, { calibrationDir: dir("nothing-here") });
    try {
      assert.equal(calibrated.calibration.kind, "calibrated");
      assert.equal(calibrated.info().router, `confidence, calibrated for this pair, AUC ${written.heldout.auc.toFixed(2)}`);
      assert.deepEqual(
        calibrated.warnings.filter((w) => /calibration/i.test(w)),
        [],
      );
      assert.equal(plain.info().router, "confidence, default weights");
      assert.ok(
        plain.warnings.some((w) => /No router calibration for draft\.gguf → target\.gguf.*arbitrage calibrate/.test(w)),
        plain.warnings.join("\n"),
      );
      const question = SET[0]!.question;
      const a = await calibrated.reason(question, { policy: "arbitrage", threshold: 0.5 });
      const b = await plain.reason(question, { policy: "arbitrage", threshold: 0.5 });
      assert.match(a.stats.router!, /^confidence, calibrated for this pair, AUC 0\.\d\d$/);
      assert.equal(b.stats.router, "confidence, default weights");
      // The calibrated weights really score the steps (the same first draft step, other weights → another score).
      assert.notEqual(a.steps[0]!.routerScore, b.steps[0]!.routerScore);
    } finally {
      await calibrated.dispose();
      await plain.dispose();
    }

    const r = cli([
      "reason",
      "--json",
      "--policy",
      "arbitrage",
      "--router",
      "confidence",
      "--threads",
      "1",
      "--calibrations",
      writtenDir,
      "(12+7)*3-5",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(JSON.parse(r.stdout).stats.router, /^confidence, calibrated for this pair, AUC 0\.\d\d$/);
  });

  it("resumes after a cancel without redoing or losing the finished problems", async () => {
    const where = dir("resume");
    const abort = new AbortController();
    const first = await calibrate(engine, {
      problems: SET,
      labels: "exact",
      dir: where,
      signal: abort.signal,
      onProgress: (p) => p.done >= 5 && abort.abort(),
    });
    assert.equal(first.status, "cancelled");
    assert.deepEqual(calibrationFiles(where), [], "a cancelled run writes no calibration");
    const logged = readFileSync(rolloutLogPath(where, engine), "utf8").trim().split("\n");
    assert.equal(logged.length, 5, "the five finished problems are kept");
    const second = await calibrate(engine, { problems: SET, labels: "exact", dir: where });
    assert.equal(second.status, "written");
    if (second.status !== "written") return;
    assert.equal(second.resumed, 5);
    assert.equal(second.newProblems, SET.length - 5);
    // Greedy rollouts: the resumed run fits exactly the rows of an uninterrupted one.
    assert.deepEqual(second.calibration.router.weights, written.router.weights);
    assert.equal(second.calibration.heldout.auc, written.heldout.auc);
  });

  it("outcome labels (the target continues each step to a final answer) agree with the exact checker's", async () => {
    const result = await calibrate(engine, { problems: ALL.slice(0, 40), labels: "outcome", dir: dir("outcome") });
    assert.equal(result.status, "written");
    if (result.status !== "written") return;
    assert.equal(result.calibration.labelMethod, "outcome");
    assert.ok(result.labelCheck, "the embedded pair gets both labels on the same steps");
    assert.ok(result.labelCheck.agreement > 0.85, `agreement ${result.labelCheck.agreement}`);
  });

  it("falls back to the default weights with a notice for a corrupt, outdated or foreign calibration file", async () => {
    const cases: Array<[string, string, RegExp]> = [
      ["corrupt", "{ not json", /is corrupt \(not JSON/],
      ["truncated", JSON.stringify(written).slice(0, 200), /is corrupt/],
      ["wrong shape", JSON.stringify({ ...written, router: { kind: "confidence", weights: { bias: "x" } } }), /is corrupt \(router\.weights\.bias/],
      ["outdated", JSON.stringify({ ...written, version: 0 }), /is outdated \(version 0/],
      [
        "another pair",
        JSON.stringify({ ...written, pair: { ...written.pair, draft: { ...written.pair.draft, file: "other.gguf", fingerprint: "0".repeat(64) } } }),
        /was made for other\.gguf → target\.gguf, not for this pair/,
      ],
    ];
    for (const [name, text, pattern] of cases) {
      const where = dir(`bad-${name.replace(/ /g, "-")}`);
      const { mkdirSync } = await import("node:fs");
      mkdirSync(where, { recursive: true });
      writeFileSync(calibrationPath(where, engine.pair), text);
      const e = await ArbitrageEngine.create({ threads: THREADS, router: "confidence" }, { calibrationDir: where });
      try {
        assert.equal(e.calibration.kind, "none", name);
        assert.equal(e.info().router, "confidence, default weights", name);
        const notice = e.warnings.find((w) => /router calibration/.test(w));
        assert.match(notice ?? "(no notice)", pattern, name);
        assert.match(notice!, /default weights/, name);
        const r = await e.reason(SET[0]!.question, { policy: "arbitrage" });
        assert.equal(r.stats.router, "confidence, default weights", name);
      } finally {
        await e.dispose();
      }
    }
  });

  it("refuses problems whose answers no rollout reaches, and a budget too small for any label, writing nothing", async () => {
    const wrong: CalibrationProblem[] = SET.slice(0, 8).map((p) => ({ question: p.question, answer: String(Number(p.answer) + 1000) }));
    const where = dir("unreachable");
    await expectCalibrationError(
      calibrate(engine, { problems: wrong, labels: "exact", dir: where }),
      /none of the 8 problems did the oracle rollout reach the known answer.*check the "answer" fields/,
    );
    assert.deepEqual(calibrationFiles(where), []);

    const tight = dir("budget");
    await expectCalibrationError(
      calibrate(engine, { problems: SET, labels: "exact", dir: tight, budgetMs: 1 }),
      /budget of 0\.0 minutes ended before any problem was finished.*raise --budget-minutes/,
    );
    assert.deepEqual(calibrationFiles(tight), []);

    await expectCalibrationError(
      calibrate(engine, { problems: [{ question: "What is 2 plus 2?", answer: "4" }], labels: "exact", dir: dir("words") }),
      /exact checker labels only integer arithmetic.*--scorer outcome/,
    );
    await expectCalibrationError(calibrate(engine, { problems: SET.slice(0, 2), labels: "exact", dir: dir("few") }), /Too few labelled steps/);
  });

  it("the CLI names a bad problem file in one line, before loading any model", () => {
    const files: Array<[string, string, RegExp]> = [
      ["empty.jsonl", "", /holds no problems/],
      ["not-jsonl.jsonl", "question,answer\n1+2,3\n", /not-jsonl\.jsonl:1: not JSON/],
      ["no-answers.jsonl", `${JSON.stringify({ question: "1+2" })}\n`, /no-answers\.jsonl:1: needs an "answer"/],
    ];
    for (const [name, text, pattern] of files) {
      const file = join(root, name);
      writeFileSync(file, text);
      const r = cli(["calibrate", "--problems", file, "--calibrations", dir("cli")]);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr.trim(), /^arbitrage: error: /, name);
      assert.match(r.stderr, pattern, name);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    const r = cli(["calibrate", "--problems", join(ROOT, "bench/problems/calibration-embedded.jsonl"), "--budget-minutes", "0"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--budget-minutes: 0\. Use a number of minutes above 0/);
    assert.deepEqual(calibrationFiles(dir("cli")), []);
  });
});
