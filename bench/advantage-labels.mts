/**
 * How far the router's label (the target's step is better: advantage) is from the PRM's label (the
 * draft's step is wrong: correctness) on a problem set. The oracle, with the exact checker, writes
 * both candidate steps at every context of its path and scores both; this counts the step pairs
 * where the draft's step is wrong but the target's is no better (both wrong): the only steps on
 * which an advantage router and a correctness PRM are asked different questions.
 *
 * usage: node --import tsx bench/advantage-labels.mts [--problems file.jsonl] [--threads 1]
 */
import { parseArgs } from "node:util";
import { loadProblems } from "../src/bench/problems.js";
import { ArbitrageEngine } from "../src/engine/index.js";

const { values } = parseArgs({
  options: {
    problems: { type: "string", default: "bench/problems/embedded-heldout.jsonl" },
    threads: { type: "string", default: "1" },
  },
});
const questions = loadProblems(values.problems).map((p) => p.question);

const engine = await ArbitrageEngine.create({ threads: Number(values.threads), scorer: "exact" });
const n = { steps: 0, draftWrong: 0, targetBetter: 0, bothWrong: 0, problemsWithBothWrong: 0 };
for (const q of questions) {
  // Threshold 0: the target's step wins whenever the checker rates it higher than the draft's.
  const r = await engine.reason(q, { policy: "oracle", threshold: 0 });
  let both = false;
  for (const s of r.steps) {
    if (s.scorerScore === undefined || s.targetScorerScore === undefined) continue;
    n.steps++;
    const draftWrong = s.scorerScore < 1;
    const targetBetter = s.targetScorerScore > s.scorerScore;
    if (draftWrong) n.draftWrong++;
    if (targetBetter) n.targetBetter++;
    if (draftWrong && !targetBetter) {
      n.bothWrong++;
      both = true;
    }
  }
  if (both) n.problemsWithBothWrong++;
}
await engine.dispose();
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
console.log(`${values.problems}: ${questions.length} problems, ${n.steps} step pairs on the oracle's path`);
console.log(`  draft step wrong (the PRM's label):       ${n.draftWrong} (${pct(n.draftWrong, n.steps)})`);
console.log(`  target step better (the router's label):  ${n.targetBetter} (${pct(n.targetBetter, n.steps)})`);
console.log(
  `  labels differ (draft wrong, target no better): ${n.bothWrong} steps (${pct(n.bothWrong, n.steps)} of all, ` +
    `${pct(n.bothWrong, n.draftWrong)} of the wrong draft steps), in ${n.problemsWithBothWrong} problems`,
);
