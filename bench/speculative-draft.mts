/**
 * Judging off the critical path, measured side by side: every problem runs twice on one engine,
 * with and without `speculativeDraft` (the draft writes the next step while the current one is
 * judged), alternating which goes first. Prints ms per problem, the judge's time per call, its
 * part on the critical path (stats.judgeCriticalMs), and the draft's time per judged step.
 *
 * usage: node --import tsx bench/speculative-draft.mts [--problems file.jsonl] [--policy arbitrage|rsd]
 *        [--threshold 0.3] [--threads 1]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ArbitrageEngine } from "../src/engine/index.js";

const { values } = parseArgs({
  options: {
    problems: { type: "string", default: "bench/problems/embedded-heldout.jsonl" },
    policy: { type: "string", default: "arbitrage" },
    threshold: { type: "string", default: "0.3" },
    threads: { type: "string", default: "1" },
  },
});
const policy = values.policy === "rsd" ? "rsd" : "arbitrage";
const threshold = Number(values.threshold);
const questions = readFileSync(values.problems, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => (JSON.parse(l) as { question: string }).question);

const engine = await ArbitrageEngine.create({ threads: Number(values.threads) });
for (const q of questions.slice(0, 3)) await engine.reason(q, { policy, threshold });
const totals = { off: { wall: 0, judge: 0, critical: 0, calls: 0, draft: 0 }, on: { wall: 0, judge: 0, critical: 0, calls: 0, draft: 0 } };
for (const [i, q] of questions.entries()) {
  for (const speculativeDraft of i % 2 === 0 ? [false, true] : [true, false]) {
    const started = performance.now();
    const r = await engine.reason(q, { policy, threshold, speculativeDraft });
    const t = totals[speculativeDraft ? "on" : "off"];
    t.wall += performance.now() - started;
    t.judge += r.stats.routerMs + r.stats.scorerMs;
    t.critical += r.stats.judgeCriticalMs ?? r.stats.routerMs + r.stats.scorerMs;
    t.calls += r.stats.routerCalls + r.stats.scorerCalls;
    t.draft += r.stats.meters.draft.ms;
  }
}
await engine.dispose();
const f = (x: number) => x.toFixed(3);
for (const [name, t] of Object.entries(totals)) {
  console.log(
    `${policy} @${threshold} speculativeDraft ${name.padEnd(3)}: ${f(t.wall / questions.length)} ms/problem, judge ${f(t.judge / t.calls)} ms/call, ` +
      `${f(t.critical / t.calls)} on the critical path, draft ${f(t.draft / t.calls)} ms per judged step`,
  );
}
console.log(`wall time on / off: ${f(totals.on.wall / totals.off.wall)} (${questions.length} problems)`);
