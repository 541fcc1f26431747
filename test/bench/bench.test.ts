import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ResultRow, Summary } from "../../src/bench/aggregate.js";
import { REASON_DEFAULTS } from "../../src/engine/index.js";

/**
 * `arbitrage bench` on the real embedded models, small: the output's shape and the internal
 * consistency of its figures. The speed goals themselves are measured by the full bench and
 * reported (bench/README.md), not asserted here: timings on a shared 2-core machine are not a test.
 */
const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/arbitrage.mjs");
const BUILT = existsSync(join(ROOT, "dist/cli.mjs"));

function bench(args: string[]) {
  // The built CLI when there is one (as a user runs it), else the sources.
  const argv = BUILT ? [BIN, "bench", ...args] : ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "bench", ...args];
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: "utf8", timeout: 240_000, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const close = (a: number, b: number, what: string, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} vs ${b}`);

/** The rows are the bench's own result type, read back from its JSON output. */
type Row = ResultRow;

describe("arbitrage bench", () => {
  let dir: string;
  let out: { results: Row[]; summary: Summary; meta: Record<string, unknown> };
  let run: ReturnType<typeof bench>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "arbitrage-bench-"));
    run = bench([
      "--limit",
      "3",
      "--policies",
      "target,speculative,arbitrage,random",
      "--draft-tokens",
      "1,3",
      "--thresholds",
      "0,1",
      "--refine",
      "0",
      "--json",
      "--plot",
      join(dir, "frontier.svg"),
    ]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints exactly one JSON object {results, summary} and keeps progress on stderr", () => {
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split("\n");
    assert.equal(lines.length, 1, "one line of JSON on stdout");
    out = JSON.parse(lines[0]!);
    assert.ok(Array.isArray(out.results));
    assert.equal(typeof out.summary, "object");
    assert.match(run.stderr, /bench: 100%/);
  });

  it("has one row per method and threshold, each with the figures", () => {
    const keys = out.results.map((r) => `${r.method}@${r.threshold}`);
    assert.deepEqual(keys, [
      "target@null",
      "speculative-k1@null",
      "speculative-k3@null",
      "arbitrage@0",
      "arbitrage@1",
      "arbitrage-confidence@0",
      "arbitrage-confidence@1",
      "arbitrage+spec@0",
      "arbitrage+spec@1",
      "random@0",
      "random@1",
    ]);
    for (const r of out.results) {
      const at = `${r.method}@${r.threshold}`;
      assert.equal(r.problems, 3, at);
      assert.ok(Number.isInteger(r.correct) && r.correct >= 0 && r.correct <= 3, at);
      close(r.accuracy, r.correct / 3, `${at} accuracy`);
      assert.ok(r.meanMs > 0 && r.medianMs > 0, at);
      // Latency: the row's mean, or pooled over the method's thresholds that made the same decisions.
      const pooled = out.results.filter((o) => o.method === r.method && r.pooledThresholds.includes(o.threshold));
      assert.equal(pooled.length, r.pooledThresholds.length, at);
      for (const o of pooled) assert.equal(o.accuracy, r.accuracy, `${at} pooled with ${o.threshold}`);
      close(r.latencyMs, pooled.reduce((a, o) => a + o.meanMs, 0) / pooled.length, `${at} latency`, 1e-6);
      close(r.stepShare.draft + r.stepShare.target, 1, `${at} step shares`);
      close(r.tokenShare.draft + r.tokenShare.target, 1, `${at} token shares`);
      assert.ok(r.overheadShare >= 0 && r.overheadShare < 1, at);
      assert.ok(r.draftTokensDiscarded >= 0 && r.targetTokensReused >= 0 && r.routerMs >= 0 && r.scorerMs === 0, at);
      for (const role of ["draft", "target"] as const) {
        const e = r.evalPerCommitted[role];
        assert.ok(e === null || e >= 1 - 1e-9, `${at} ${role} evaluated/committed ${e}`);
      }
    }
  });

  it("is consistent: arbitrage at threshold 0 is the target (same accuracy, every step by the target)", () => {
    const target = out.results.find((r) => r.method === "target")!;
    assert.equal(target.stepShare.target, 1);
    assert.equal(target.evalPerCommitted.draft, null, "the draft does nothing under target");
    for (const m of ["arbitrage", "arbitrage-confidence", "random"]) {
      const zero = out.results.find((r) => r.method === m && r.threshold === 0)!;
      assert.equal(zero.accuracy, target.accuracy, `${m}@0 accuracy == target accuracy`);
      assert.equal(zero.stepShare.target, 1, `${m}@0 sends every step to the target`);
      close(zero.stepsPerProblem, target.stepsPerProblem, `${m}@0 steps`);
      // Every draft step is rejected, and prefix reuse hands its agreeing prefix to the target.
      assert.ok(zero.draftTokensDiscarded > 0 && zero.targetTokensReused <= zero.draftTokensDiscarded, m);
    }
    // Random routing keeps every draft step at threshold 1 (its score is below 1).
    assert.equal(out.results.find((r) => r.method === "random" && r.threshold === 1)!.stepShare.draft, 1);
  });

  it("token-level speculation rows: the target's answers, every step by the target, consistent proposal counts", () => {
    const target = out.results.find((r) => r.method === "target")!;
    assert.equal(target.acceptance, null, "the target alone proposes nothing");
    for (const [id, k] of [
      ["speculative-k1", 1],
      ["speculative-k3", 3],
    ] as const) {
      const r = out.results.find((x) => x.method === id)!;
      assert.equal(r.label, `speculative (k=${k})`);
      assert.deepEqual(r.answers, target.answers, `${id}: lossless`);
      assert.equal(r.stepShare.target, 1, id);
      assert.ok(r.verifyRounds > 0 && r.draftProposed > 0, id);
      assert.ok(r.draftProposed <= k * r.verifyRounds + 1e-9, `${id}: at most ${k} proposals per round`);
      assert.ok(r.draftAccepted <= r.draftProposed, id);
      close(r.acceptance ?? NaN, r.draftAccepted / r.draftProposed, `${id} acceptance`, 1e-9);
    }
    // With token speculation arbitrage routes as without it: same accuracy and shares at each threshold.
    for (const t of [0, 1]) {
      const plain = out.results.find((r) => r.method === "arbitrage" && r.threshold === t)!;
      const spec = out.results.find((r) => r.method === "arbitrage+spec" && r.threshold === t)!;
      assert.deepEqual(spec.answers, plain.answers, `@${t}`);
      assert.deepEqual(spec.stepShare, plain.stepShare, `@${t}`);
      assert.equal(spec.targetTokensReused, plain.targetTokensReused, `@${t}: the rejected draft step is still the first proposal`);
      if (t === 1) assert.equal(spec.verifyRounds, 0, "threshold 1: the target never writes");
      else
        assert.ok(
          spec.verifyRounds >= plain.verifyRounds && plain.draftProposed === 0,
          "threshold 0: the target checks in batches; only with it does the draft propose afresh",
        );
    }
    const s = out.summary;
    const fastest = out.results.filter((r) => r.method.startsWith("speculative-k")).sort((a, b) => a.latencyMs - b.latencyMs)[0]!;
    assert.equal(s.speculative?.method, fastest.method);
    assert.equal(s.speculative?.answersIdenticalToTarget, true);
    close(s.speculative!.speedupVsTarget!, target.latencyMs / fastest.latencyMs, "speculative speedup");
    for (const m of s.matched.filter((m) => Number.isFinite(m.latencyMs))) {
      close(m.speedupVsSpeculative!, fastest.latencyMs / m.latencyMs, `${m.method} vs speculative`, 1e-9);
    }
    close(s.arbitrageSpecSpeedupVsSpeculative!, s.matched.find((m) => m.method === "arbitrage+spec")!.speedupVsSpeculative!, "summary");
  });

  it("derives the summary from the rows", () => {
    const s = out.summary;
    const target = out.results.find((r) => r.method === "target")!;
    for (const k of [
      "speedupVsTarget",
      "speedupVsRsd",
      "oracleLatencyRatio",
      "engineOverheadShare",
      "evalPerCommitted",
      "prefixReuseSavedShare",
      "targetAccuracy",
      "draftAccuracy",
    ]) {
      assert.ok(k in s, `summary.${k}`);
    }
    assert.equal(s.targetAccuracy, target.accuracy);
    assert.equal(s.draftAccuracy, null, "draft not run");
    assert.equal(s.speedupVsRsd, null, "rsd not run");
    assert.equal(s.oracleLatencyRatio, null, "oracle not run");
    // Matched accuracy: arbitrage's fastest setting within 1 point of the target's accuracy.
    const ok = out.results.filter((r) => r.method === "arbitrage" && r.accuracy >= target.accuracy - 0.01 - 1e-9);
    const fastest = ok.reduce((a, b) => (b.latencyMs < a.latencyMs ? b : a));
    assert.equal(s.arbitrageThreshold, fastest.threshold);
    assert.ok(s.speedupVsTarget !== null && s.engineOverheadShare !== null, "matched speedup and overhead measured");
    close(s.speedupVsTarget, target.latencyMs / fastest.latencyMs, "speedupVsTarget", 1e-9);
    close(s.engineOverheadShare, fastest.overheadShare, "engineOverheadShare");
    assert.deepEqual(s.evalPerCommitted, fastest.evalPerCommitted);
    const matchedTarget = s.matched.find((m) => m.method === "target");
    assert.ok(matchedTarget, "the target has a matched row");
    assert.equal(matchedTarget.speedupVsTarget, 1);
    // Prefix reuse: measured on vs off on the matched setting, with identical outputs.
    assert.ok(s.prefixReuse, "prefix reuse measured");
    assert.equal(s.prefixReuse.identicalOutputs, true);
    assert.equal(s.prefixReuse.threshold, fastest.threshold);
    assert.ok(s.prefixReuse.targetGeneratedOn <= s.prefixReuse.targetGeneratedOff);
    if (s.prefixReuse.targetGeneratedOff > 0)
      close(s.prefixReuseSavedShare ?? NaN, 1 - s.prefixReuse.targetGeneratedOn / s.prefixReuse.targetGeneratedOff, "saved share");
    // Router cost at the matched setting: its calls judge draft steps; without speculative drafting all of it is on the critical path.
    assert.ok(s.routerCost, "router cost measured");
    close(s.routerCost.msPerCall, fastest.routerMs / fastest.judgeCalls, "router ms per call", 1e-9);
    close(s.routerCost.draftStepMs, fastest.modelMs.draft / fastest.judgeCalls, "draft ms per judged step", 1e-9);
    // Busy time in units of the target alone's: 1 for the target row, each row's own meters over it elsewhere.
    assert.deepEqual(target.busyShareOfTarget, { draft: 0, target: 1 });
    for (const r of out.results) {
      close(r.busyShareOfTarget.target ?? NaN, r.modelMs.target / target.modelMs.target, `${r.label} target busy share`, 1e-9);
      close(r.busyShareOfTarget.draft ?? NaN, r.modelMs.draft / target.modelMs.target, `${r.label} draft busy share`, 1e-9);
    }
    assert.ok(fastest.busyShareOfTarget.draft! > 0, "arbitrage's draft was busy");
    assert.ok(s.routerCost.criticalMsPerCall >= s.routerCost.msPerCall, "no judging hidden without speculative drafting");
    assert.ok(Array.isArray(s.goals) && s.goals.length >= 5);
  });

  it("writes the accuracy-vs-latency plot as SVG", () => {
    const svg = readFileSync(join(dir, "frontier.svg"), "utf8");
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /arbitrage \(trained router\)/);
    assert.match(svg, /speculative \(k=3\)/);
    assert.match(svg, new RegExp(`\\+ token spec \\(k=${REASON_DEFAULTS.draftTokens}\\)`));
    assert.match(svg, /mean latency per problem/);
  });

  it("--refine 0 runs the grid alone", () => {
    assert.deepEqual(out.meta.refinedThresholds, {});
    assert.deepEqual(
      out.results.filter((r) => r.method === "arbitrage").map((r) => r.threshold),
      [0, 1],
    );
  });

  it("searches each method's matched point between its grid thresholds (--refine)", () => {
    const r = bench([
      "--limit",
      "12",
      "--warmup",
      "0",
      "--policies",
      "target,arbitrage",
      "--token-spec",
      "none",
      "--thresholds",
      "0,1",
      "--refine",
      "3",
      "--json",
      "--no-plot",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout.trim()) as {
      results: Row[];
      matchedPass?: Row[];
      summary: Summary;
      meta: { refinedThresholds: Record<string, number[]>; notes: string[] };
    };
    const target = o.results.find((x) => x.method === "target")!;
    const inBand = (x: Row) => x.accuracy >= target.accuracy - 0.01 - 1e-9;
    let searched = 0;
    for (const method of ["arbitrage", "arbitrage-confidence"]) {
      const rows = o.results.filter((x) => x.method === method);
      const thresholds = rows.map((x) => x.threshold!);
      assert.deepEqual(
        thresholds,
        [...thresholds].sort((a, b) => a - b),
        `${method}: rows in threshold order`,
      );
      const added = o.meta.refinedThresholds[method] ?? [];
      assert.equal(rows.length, 2 + added.length, method);
      const [zero, one] = [rows[0]!, rows.at(-1)!];
      // Threshold 1 is the draft alone: below the band and faster than 0, the search must start at the middle.
      if (!inBand(one) && one.latencyMs < zero.latencyMs) {
        searched++;
        assert.equal(added[0], 0.5, `${method}: the first midpoint`);
        assert.ok(added.length >= 1 && added.length <= 3, `${method}: one midpoint per round (${added.join(", ")})`);
        for (const t of added) assert.ok(t > 0 && t < 1 && Number.isInteger(t * 8), `${method}: ${t} halves a bracket of the grid`);
        assert.ok(
          o.meta.notes.some((n) => n.includes("matched point searched") && added.every((t) => n.includes(String(t)))),
          o.meta.notes.join("\n"),
        );
      } else assert.deepEqual(added, [], method);
    }
    assert.ok(searched > 0, "the draft alone is below the band on these problems, so at least one method was searched");
    // The matched pass: the compared settings run again side by side, and the summary comes from it.
    const pass = o.matchedPass!;
    assert.ok(Array.isArray(pass) && o.summary.matchedPass === true, "a search was made, so the matched pass ran");
    assert.ok(o.meta.notes.some((n) => n.startsWith("matched comparison:")));
    assert.equal(pass.find((x) => x.method === "target")?.accuracy, target.accuracy);
    for (const method of ["arbitrage", "arbitrage-confidence"]) {
      const own = pass.filter((x) => x.method === method);
      assert.ok(own.length >= 1 && own.length <= 2, `${method}: the grid's and the search's fastest in-band settings`);
      for (const x of own) {
        const swept = o.results.find((y) => y.method === method && y.threshold === x.threshold);
        assert.ok(swept && inBand(swept), `${method}@${x.threshold} was an in-band setting of the sweep or the search`);
        // Greedy decoding: the same setting gives the same answers when run again.
        assert.deepEqual(x.answers, swept.answers, `${method}@${x.threshold}`);
      }
    }
    const matched = pass.filter((x) => x.method === "arbitrage" && inBand(x)).sort((a, b) => a.latencyMs - b.latencyMs)[0]!;
    assert.equal(o.summary.arbitrageThreshold, matched.threshold);
    close(o.summary.speedupVsTarget!, pass.find((x) => x.method === "target")!.latencyMs / matched.latencyMs, "speedup from the pass");
  });

  it("prints a table without --json, and rejects bad flags in one line", () => {
    const t = bench(["--limit", "1", "--warmup", "0", "--policies", "target,draft", "--no-plot"]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /│ target\s+│/);
    assert.match(t.stdout, /│ draft\s+│/);
    assert.match(t.stdout, /accuracy: target [\d.]+%, draft [\d.]+%/);
    for (const [args, pattern] of [
      [["--thresholds", "0,2"], /threshold/],
      [["--policies", "fast"], /policy/],
      [["--limit", "0"], /--limit/],
      [["--bogus"], /unknown option/],
    ] as const) {
      const r = bench([...args]);
      assert.notEqual(r.code, 0, args.join(" "));
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^arbitrage: error: /);
      assert.match(lines[0]!, pattern);
    }
  });
});
