import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import {
  gridDependence,
  gridDependenceNote,
  matchedCandidates,
  matchedRow,
  REFINE_THRESHOLD_STEP,
  refinementThresholds,
  type ResultRow,
} from "../../src/bench/aggregate.js";
import { DEFAULT_REFINE_ROUNDS, DEFAULT_THRESHOLDS, parseThresholds } from "../../src/cli/bench.js";

/**
 * The threshold grid (issue 14): the default is fine near both ends, and the bench names every
 * method whose matched point still depends on the grid. Checked on a real full run kept as a
 * fixture (the 2026-11-29 embedded bench, 200 problems, the models before issue 14's retraining,
 * whose matched points fell inside wide grid brackets) and on that run seen through the old 0.1 grid.
 */
const saved = JSON.parse(readFileSync(resolve(import.meta.dirname, "../fixtures/bench-grid-run-2026-11-29.json"), "utf8")) as {
  results: ResultRow[];
  summary: { targetAccuracy: number };
};
const target = saved.summary.targetAccuracy;
const onGrid = (grid: readonly number[]) => saved.results.filter((r) => r.threshold === null || grid.includes(r.threshold));
const brackets = (rows: readonly ResultRow[]) =>
  gridDependence(rows, target)
    .map((d) => `${d.method} ${d.inside}/${d.neighbour}`)
    .sort();

describe("bench threshold grid", () => {
  it("the default grid is fine near both ends and 0.1 in the middle", () => {
    assert.deepEqual(parseThresholds(DEFAULT_THRESHOLDS), [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 1]);
  });

  it("on the old 0.1 grid, rsd's and arbitrage's matched points fall to the grid's ends and are both flagged", () => {
    const coarse = onGrid(parseThresholds("0,0.1,...,1"));
    assert.equal(matchedRow(coarse, "rsd-prm", target)?.threshold, 1);
    assert.equal(matchedRow(coarse, "arbitrage", target)?.threshold, 0);
    const found = brackets(coarse);
    assert.ok(found.includes("rsd-prm 1/0.9"), found.join(", "));
    assert.ok(found.includes("arbitrage 0/0.1"), found.join(", "));
  });

  it("a finer grid moves the matched points, and only the brackets still wider than 0.01 remain", () => {
    const all = saved.results;
    // With 0.02, 0.05, 0.95, 0.98: rsd moves from 1 to 0.98 (53.4 -> 42.8 ms), arbitrage from 0 to 0.05.
    assert.equal(matchedRow(all, "rsd-prm", target)?.threshold, 0.98);
    assert.equal(matchedRow(all, "arbitrage", target)?.threshold, 0.05);
    const found = brackets(all);
    assert.ok(found.includes("rsd-prm 0.98/0.95"), found.join(", "));
    assert.ok(found.includes("arbitrage 0.05/0.1"), found.join(", "));
    assert.ok(!found.some((b) => b.startsWith("rsd-prm 1/") || b.startsWith("arbitrage 0/")), found.join(", "));
    const note = gridDependenceNote(gridDependence(all, target).find((d) => d.method === "rsd-prm")!);
    assert.match(note, /between 0\.95 and 0\.98/);
  });

  it("no flag when the faster neighbour is within 0.01, in the band, or slower", () => {
    const row = (threshold: number, accuracy: number, latencyMs: number) =>
      ({ ...saved.results.find((r) => r.method === "rsd-prm")!, threshold, accuracy, latencyMs }) as ResultRow;
    const target95 = (rows: ResultRow[]) => gridDependence(rows, 0.95);
    assert.deepEqual(target95([row(0.98, 0.95, 40), row(0.99, 0.95, 45), row(0.95, 0.9, 35)]).length, 1);
    assert.deepEqual(target95([row(0.98, 0.95, 40), row(0.99, 0.95, 45), row(0.97, 0.9, 35)]), []);
    assert.deepEqual(target95([row(0.9, 0.945, 30), row(0.98, 0.95, 40)]), []);
    assert.deepEqual(target95([row(0.9, 0.5, 50), row(0.98, 0.95, 40)]), []);
    // The bracket's inside end need not be the matched setting: a slower in-band setting nearer the edge still brackets it.
    const noisy = [row(0.5, 0.95, 27.2), row(0.625, 0.95, 27.5), row(0.75, 0.9, 26)];
    assert.deepEqual(
      target95(noisy).map((d) => [d.matched, d.inside, d.neighbour]),
      [[0.5, 0.625, 0.75]],
    );
    assert.match(gridDependenceNote(target95(noisy)[0]!), /matched at threshold 0\.5 .*0\.625 is in the band too.*between 0\.625 and 0\.75/);
    assert.deepEqual(
      refinementThresholds(noisy, 0.95).map((r) => r.threshold),
      [0.6875],
    );
  });

  it("the search's first round halves each flagged bracket of the saved run", () => {
    const next = refinementThresholds(saved.results, target)
      .map((r) => `${r.method} ${r.threshold}`)
      .sort();
    assert.ok(next.includes("rsd-prm 0.965"), next.join(", "));
    assert.ok(next.includes("arbitrage 0.075"), next.join(", "));
    // A midpoint already run is not run again.
    const withMid = [...saved.results, { ...matchedRow(saved.results, "rsd-prm", target)!, threshold: 0.965, accuracy: 0 }];
    assert.ok(!refinementThresholds(withMid, target).some((r) => r.method === "rsd-prm" && r.threshold === 0.965));
  });

  it("the search converges on the band's edge from either side within the default rounds", () => {
    const base = saved.results.find((r) => r.method === "rsd-prm")!;
    // rsd-like: more accurate and slower as the threshold rises; arbitrage-like: the other way round.
    const curves = [
      { method: "rsd-prm", edge: 0.9862, ok: (t: number) => t >= 0.9862, ms: (t: number) => 20 + 20 * t },
      { method: "arbitrage", edge: 0.2137, ok: (t: number) => t <= 0.2137, ms: (t: number) => 50 - 10 * t },
    ] as const;
    for (const c of curves) {
      const row = (t: number) => ({ ...base, method: c.method, threshold: t, accuracy: c.ok(t) ? 0.99 : 0.97, latencyMs: c.ms(t) }) as ResultRow;
      let rows = parseThresholds(DEFAULT_THRESHOLDS).map(row);
      let rounds = 0;
      for (let next = refinementThresholds(rows, 1); next.length > 0; next = refinementThresholds(rows, 1)) {
        assert.equal(next.length, 1, "one bracket per method");
        rows = [...rows, row(next[0]!.threshold)];
        rounds++;
      }
      assert.ok(rounds <= DEFAULT_REFINE_ROUNDS, `${c.method}: ${rounds} rounds`);
      const m = matchedRow(rows, c.method, 1)!;
      assert.ok(
        c.ok(m.threshold!) && Math.abs(m.threshold! - c.edge) <= REFINE_THRESHOLD_STEP,
        `${c.method}: matched ${m.threshold}, edge ${c.edge}`,
      );
    }
  });

  it("the matched pass re-runs every unthresholded setting and each method's fastest in-band setting of the grid and of the search", () => {
    const base = saved.results.find((r) => r.method === "rsd-prm")!;
    const row = (method: string, threshold: number | null, accuracy: number, latencyMs: number) =>
      ({ ...base, method, threshold, accuracy, latencyMs }) as ResultRow;
    const rows = [
      row("target", null, 1, 60),
      row("arbitrage", 0.2, 0.99, 33),
      row("arbitrage", 0.25, 0.98, 31),
      row("arbitrage", 0.1, 0.995, 35),
      row("arbitrage", 0.2125, 0.99, 28),
      row("arbitrage", 0.225, 0.985, 28.5),
      row("rsd-prm", 0.99, 0.99, 40),
    ];
    const searched = [false, false, false, false, true, true, false];
    assert.deepEqual(matchedCandidates(rows, searched, 1), [0, 1, 4, 6]);
    // Without a search: the grid's matched settings alone.
    assert.deepEqual(matchedCandidates(rows.slice(0, 4), searched.slice(0, 4), 1), [0, 1]);
  });
});
