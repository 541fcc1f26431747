import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { gridDependence, gridDependenceNote, matchedRow, type ResultRow } from "../../src/bench/aggregate.js";
import { DEFAULT_THRESHOLDS, parseThresholds } from "../../src/bench/cli.js";

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
    .map((d) => `${d.method} ${d.matched}/${d.neighbour}`)
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
  });
});
