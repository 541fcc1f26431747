import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ResultRow, Summary } from "../../src/bench/aggregate.js";
import { answerMatches, loadProblems } from "../../src/bench/problems.js";
import { GEMMA, SMOL, THREADS } from "../real/helpers.js";

/**
 * `arbitrage bench` on the real published pair (SmolLM2-135M-Instruct draft, Gemma 3 270M base
 * target) and the real-model problem set, small: 3 problems, thresholds 0, 0.9999 and 1. The
 * embedded router and PRM are not valid judges for this pair, so arbitrage must run with the
 * confidence router, and rsd and the oracle must be left out and named as skipped (not run with
 * the embedded PRM, not crash). Timings are not asserted beyond being measured.
 */
const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/arbitrage.mjs");
const BUILT = existsSync(join(ROOT, "dist/cli.mjs"));
const PROBLEMS = join(ROOT, "bench/problems/real-small.jsonl");
const N = 3;
const THRESHOLDS = [0, 0.9999, 1];

function bench(args: string[], timeout = 150_000) {
  const argv = BUILT ? [BIN, "bench", ...args] : ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "bench", ...args];
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: "utf8", timeout, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const pair = () => ["--draft", SMOL(), "--target", GEMMA(), "--threads", String(THREADS), "--context-size", "512"];

interface Output {
  meta: {
    embeddedPair: boolean;
    skipped: { label: string; reason: string }[];
    notes: string[];
    methods: { id: string; router: unknown }[];
    request: Record<string, unknown>;
  };
  results: ResultRow[];
  summary: Summary;
}

describe("arbitrage bench on the real pair (SmolLM2-135M → Gemma 3 270M)", () => {
  let dir: string;
  let out: Output;
  let run: ReturnType<typeof bench>;
  const embeddedPlot = join(ROOT, "bench/frontier.svg");
  let embeddedPlotMtime = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "arbitrage-real-bench-"));
    embeddedPlotMtime = existsSync(embeddedPlot) ? statSync(embeddedPlot).mtimeMs : 0;
    run = bench([
      ...pair(),
      "--problems",
      PROBLEMS,
      "--limit",
      String(N),
      "--warmup",
      "0",
      "--thresholds",
      THRESHOLDS.join(","),
      // The grid's rows alone: the matched-point search is checked on the embedded pair (bench.test.ts).
      "--refine",
      "0",
      "--max-steps",
      "4",
      "--max-tokens-per-step",
      "32",
      "--json",
      "--save",
      join(dir, "out.json"),
      "--plot",
      join(dir, "frontier.svg"),
    ]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("runs every default policy it has a judge for and names the ones it skips", () => {
    assert.equal(run.code, 0, run.stderr);
    out = JSON.parse(run.stdout.trim());
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "out.json"), "utf8")), out, "--save writes the same object");
    assert.equal(out.meta.embeddedPair, false);
    assert.deepEqual(out.meta.request, { maxSteps: 4, maxTokensPerStep: 32 });
    // Arbitrage with the confidence router only (the embedded router is the embedded pair's).
    assert.deepEqual(
      out.meta.methods.map((m) => m.id),
      ["target", "draft", "arbitrage"],
    );
    assert.equal(out.meta.methods.find((m) => m.id === "arbitrage")!.router, "confidence");
    const skipped = out.meta.skipped.map((s) => s.label).sort();
    // Token-level speculation needs one tokenizer for both models: its methods are skipped too, with that reason.
    assert.deepEqual(skipped, [
      "arbitrage (confidence) + token spec (k=8)",
      "oracle",
      "rsd (exact checker)",
      "rsd (learned PRM)",
      "speculative (k=2)",
      "speculative (k=4)",
      "speculative (k=8)",
    ]);
    for (const s of out.meta.skipped) assert.ok(s.reason.length > 20, `${s.label}: a reason`);
    assert.match(out.meta.skipped.find((s) => s.label === "speculative (k=8)")!.reason, /tokenizer/);
    assert.match(out.meta.skipped.find((s) => s.label === "rsd (learned PRM)")!.reason, /embedded PRM.*--scorer/);
    assert.ok(out.meta.notes.some((n) => /confidence router/.test(n)));
    assert.ok(
      out.meta.notes.some((n) => /prefix reuse not measured/.test(n)),
      "different tokenizers: no prefix-reuse run",
    );
    assert.equal(out.summary.prefixReuse, null);
    // Nothing ran under a judge it should not have.
    assert.ok(out.results.every((r) => r.scorerMs === 0 && !/trained router|PRM|oracle/.test(r.label)));
  });

  it("has the target, draft and arbitrage rows with sane figures", () => {
    const keys = out.results.map((r) => `${r.method}@${r.threshold}`);
    assert.deepEqual(keys, ["target@null", "draft@null", ...THRESHOLDS.map((t) => `arbitrage@${t}`)]);
    const problems = loadProblems(PROBLEMS).slice(0, N);
    for (const r of out.results) {
      const at = `${r.method}@${r.threshold}`;
      assert.equal(r.problems, N, at);
      assert.ok(r.accuracy >= 0 && r.accuracy <= 1, `${at} accuracy ${r.accuracy}`);
      assert.equal(r.accuracy, r.correct / N, at);
      // The row's accuracy is its answers, checked again here against the file.
      assert.equal(r.answers.length, N, at);
      assert.equal(r.answers.filter((a, i) => answerMatches(a, problems[i]!.answer)).length, r.correct, `${at} correct`);
      assert.ok(r.meanMs > 0 && r.medianMs > 0 && r.latencyMs > 0, at);
      // A base model's first step may be an invented next "Question:", which ends the answer with no step.
      assert.ok(r.stepsPerProblem >= 0 && r.stepsPerProblem <= 4, `${at} steps ${r.stepsPerProblem} (max-steps 4)`);
      assert.ok(Math.abs(r.stepShare.draft + r.stepShare.target - 1) < 1e-9, at);
      assert.ok(r.overheadShare >= 0 && r.overheadShare < 1, at);
    }
    const target = out.results.find((r) => r.method === "target")!;
    const draft = out.results.find((r) => r.method === "draft")!;
    assert.equal(target.stepShare.target, 1);
    assert.equal(draft.stepShare.draft, 1);
    assert.ok(draft.stepsPerProblem >= 1, "SmolLM2 writes at least one step");
    assert.equal(target.evalPerCommitted.draft, null, "the draft does nothing under target");
    // Per-token cost of each model from its own run, and their ratio.
    const s = out.summary;
    assert.ok(s.msPerToken.draft! > 0 && s.msPerToken.target! > 0);
    assert.equal(s.msPerToken.target, target.msPerGeneratedToken.target);
    assert.equal(s.msPerToken.draft, draft.msPerGeneratedToken.draft);
    assert.ok(Math.abs(s.targetDraftTokenCostRatio! - s.msPerToken.target! / s.msPerToken.draft!) < 1e-12);
    assert.equal(s.targetAccuracy, target.accuracy);
    assert.equal(s.draftAccuracy, draft.accuracy);
  });

  it("arbitrage at threshold 0 is the target: every step by the target, the same answers", () => {
    const target = out.results.find((r) => r.method === "target")!;
    const zero = out.results.find((r) => r.method === "arbitrage" && r.threshold === 0)!;
    assert.equal(zero.stepShare.target, 1);
    assert.deepEqual(zero.answers, target.answers);
    assert.equal(zero.accuracy, target.accuracy);
    assert.ok(Math.abs(zero.stepsPerProblem - target.stepsPerProblem) < 1e-9);
    // Every draft step was written, judged and rejected.
    assert.ok(zero.draftTokensDiscarded > 0 && zero.routerMs > 0);
    // At 1 the router keeps every draft step whose score is below 1 (a score that rounds to 1.0 still goes to
    // the target); with every step kept, the answers are the draft's own.
    const one = out.results.find((r) => r.method === "arbitrage" && r.threshold === 1)!;
    const draft = out.results.find((r) => r.method === "draft")!;
    assert.ok(one.stepShare.draft > 0.5, `arbitrage@1 keeps most draft steps (${one.stepShare.draft})`);
    if (one.stepShare.draft === 1) assert.deepEqual(one.answers, draft.answers);
  });

  it("writes the plot where asked and leaves the embedded pair's figure alone", () => {
    const svg = readFileSync(join(dir, "frontier.svg"), "utf8");
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /arbitrage \(confidence\)/);
    assert.match(svg, /SmolLM2-135M-Instruct/);
    // Without --plot another pair writes no plot (the default path is the embedded pair's figure) and says so.
    const t = bench(
      [...pair(), "--problems", PROBLEMS, "--limit", "1", "--warmup", "0", "--policies", "draft", "--max-steps", "1", "--max-tokens-per-step", "8"],
      60_000,
    );
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /│ draft\s+│/);
    assert.match(t.stdout, /note: no plot written: give --plot/);
    assert.equal(existsSync(embeddedPlot) ? statSync(embeddedPlot).mtimeMs : 0, embeddedPlotMtime, "bench/frontier.svg untouched");
  });

  it("rejects bad request options with the engine's message before loading a model", () => {
    for (const [flag, value, pattern] of [
      ["--max-steps", "0", /maxSteps: 0\. Use a whole number from 1/],
      ["--max-tokens-per-step", "2.5", /maxTokensPerStep: 2\.5/],
      ["--style", "poetry", /promptStyle: "poetry"/],
    ] as const) {
      const started = performance.now();
      const r = bench([...pair(), "--problems", PROBLEMS, flag, value], 30_000);
      assert.notEqual(r.code, 0, `${flag} ${value}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^arbitrage: error: Invalid /);
      assert.match(lines[0]!, pattern);
      assert.doesNotMatch(r.stderr, /bench: /, "no progress: nothing was loaded");
      assert.ok(performance.now() - started < 20_000);
    }
  });
});
