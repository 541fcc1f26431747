import Table from "cli-table3";
import type { ResultRow, Summary } from "./aggregate.js";
import type { SkippedMethod } from "./methods.js";

/** The human-readable report: one row per (method, threshold), the matched-accuracy comparison, and the goals. */

const pct = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined || !Number.isFinite(x) ? "–" : `${(100 * x).toFixed(digits)}`;
const num = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits));
const times = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : `${x.toFixed(2)}×`);

function table(head: string[], colour: boolean, align?: ("left" | "right")[]): Table.Table {
  return new Table({
    head,
    colAligns: align ?? head.map((_, i) => (i === 0 ? "left" : "right")),
    style: { head: colour ? ["cyan"] : [], border: colour ? ["grey"] : [], compact: true, "padding-left": 1, "padding-right": 1 },
  });
}

export interface ReportNotes {
  skipped: readonly SkippedMethod[];
  notes: readonly string[];
}

/** One row per method and threshold: accuracy, latency and where the time and tokens went. */
function methodTable(rows: readonly ResultRow[], colour: boolean) {
  const paperTarget = rows.find((r) => r.method === "target")?.projectedMs ?? null;
  const main = table(
    [
      "method",
      "thr",
      "acc %",
      "mean ms",
      "median ms",
      "steps d/t %",
      "tok draft %",
      "disc/prob",
      "reused/prob",
      "rounds/prob",
      "accept %",
      "judge ms",
      "busy t/d ms",
      "busy t/d % tgt",
      "overhead %",
      "pred/meas",
      "paper ×tgt",
      "eval/commit d",
      "eval/commit t",
    ],
    colour,
  );
  let last = "";
  for (const r of rows) {
    main.push([
      r.label === last ? "" : r.label,
      r.threshold === null ? "–" : String(r.threshold),
      pct(r.accuracy),
      r.routingCostMeanMs !== undefined ? `${num(r.meanMs)} (${num(r.routingCostMeanMs)})` : num(r.meanMs),
      num(r.medianMs),
      `${pct(r.stepShare.draft, 0)}/${pct(r.stepShare.target, 0)}`,
      pct(r.tokenShare.draft, 0),
      num(r.draftTokensDiscarded),
      num(r.targetTokensReused),
      num(r.verifyRounds),
      pct(r.acceptance, 0),
      num(r.routerMs + r.scorerMs, 2),
      `${num(r.modelMs.target, 0)}/${num(r.modelMs.draft, 0)}`,
      `${pct(r.busyShareOfTarget.target, 0)}/${pct(r.busyShareOfTarget.draft, 0)}`,
      pct(r.overheadShare),
      num(r.predictedShare ?? null, 2),
      r.projectedMs != null && paperTarget !== null && r.projectedMs > 0 ? times(paperTarget / r.projectedMs) : "–",
      num(r.evalPerCommitted.draft, 3),
      num(r.evalPerCommitted.target, 3),
    ]);
    last = r.label;
  }
  return main;
}

export function formatReport(rows: readonly ResultRow[], summary: Summary, colour: boolean, extra: ReportNotes = { skipped: [], notes: [] }): string {
  const main = methodTable(rows, colour);
  const matched = table(
    ["method at matched accuracy", "thr", "acc %", "latency ms", "vs target", "vs rsd (PRM)", "vs speculative", "/ oracle"],
    colour,
  );
  for (const m of summary.matched) {
    matched.push([
      m.label,
      m.threshold === null ? (Number.isFinite(m.latencyMs) ? "–" : "none") : String(m.threshold),
      pct(m.accuracy),
      num(m.latencyMs),
      times(m.speedupVsTarget),
      times(m.speedupVsRsd),
      times(m.speedupVsSpeculative),
      times(m.oracleLatencyRatio),
    ]);
  }
  const goals = table(["goal", "measured", "target", "met"], colour, ["left", "right", "right", "left"]);
  for (const g of summary.goals) {
    const shown =
      g.value === null
        ? "–"
        : g.name.includes("share") || g.name.includes("overhead")
          ? `${(100 * g.value).toFixed(2)}%`
          : g.name.includes("evaluated")
            ? g.value.toFixed(3)
            : `${g.value.toFixed(2)}×`;
    goals.push([g.name, shown, g.goal, g.met === null ? "n/a" : g.met ? "yes" : "NO"]);
  }
  const pr = summary.prefixReuse;
  const lines = [
    main.toString(),
    "mean ms: wall per problem (oracle: measured, then in brackets its routing cost — see bench/README.md). judge ms: router + scorer.",
    "busy t/d: each model's time inside its evaluation calls (prefill, decoding, verification) per problem, and as % of the target-alone run's target busy time.",
    "rounds/prob: target batch checks (prefix reuse and token-level speculation); accept %: the draft's fresh token proposals the target kept.",
    "pred/meas: the cost model's time per problem from the row's token counts and the engine's fitted per-token costs, over the measured. " +
      "paper ×tgt: a PROJECTION, not a measurement — the speed-up over the target alone if the target cost 4.5× the draft per token and prefill a twentieth of decoding (the paper's GPU setting), from the same token counts.",
    "",
    matched.toString(),
    "",
    goals.toString(),
    `accuracy: target ${pct(summary.targetAccuracy)}%, draft ${pct(summary.draftAccuracy)}%, arbitrage ${pct(summary.arbitrageAccuracy)}% @${summary.arbitrageThreshold ?? "–"}; ${summary.problems} problems`,
  ];
  const sp = summary.speculative;
  if (sp) {
    lines.push(
      `token-level speculation: fastest ${sp.label} at ${num(sp.latencyMs)} ms, ${times(sp.speedupVsTarget)} target, ${pct(sp.acceptance)}% of draft proposals accepted, ` +
        (sp.answersIdenticalToTarget === false ? "ANSWERS DIFFER from the target's" : "answers identical to the target's") +
        `; arbitrage vs it at matched accuracy ${times(summary.arbitrageSpeedupVsSpeculative)}, arbitrage + token spec ${times(summary.arbitrageSpecSpeedupVsSpeculative)} (@${summary.arbitrageSpecThreshold ?? "–"})`,
    );
  }
  if (pr) {
    lines.push(
      `prefix reuse (${pr.method} @${pr.threshold}): target generated ${pr.targetGeneratedOn} tokens with it vs ${pr.targetGeneratedOff} without ` +
        `(${pct(pr.savedShare)}% saved, ${pr.targetTokensReused} reused); ${num(pr.meanMsOn)} vs ${num(pr.meanMsOff)} ms per problem; ` +
        (pr.identicalOutputs ? "outputs identical" : `OUTPUTS DIFFER on problems ${pr.mismatches.join(", ")}`),
    );
  }
  lines.push(
    `evaluated/committed excluding rejected draft steps (arbitrage, matched): draft ${num(summary.evalPerCommittedExclRejected?.draft, 3)}, target ${num(summary.evalPerCommittedExclRejected?.target, 3)}; ` +
      `engine overhead over all runs ${pct(summary.engineOverheadShareAllRuns, 2)}%`,
  );
  const rc = summary.routerCost;
  if (rc) {
    lines.push(
      `router cost (arbitrage, matched): ${num(rc.msPerCall, 2)} ms per call, ${num(rc.criticalMsPerCall, 2)} ms of it on the critical path; ` +
        `a draft step ${num(rc.draftStepMs, 2)} ms: ${pct(rc.share)}% of it, ${pct(rc.criticalShare)}% on the critical path`,
    );
  }
  if (summary.msPerToken && (summary.msPerToken.draft !== null || summary.msPerToken.target !== null)) {
    lines.push(
      `cost per generated token (each model alone, prompt included): draft ${num(summary.msPerToken.draft, 2)} ms, target ${num(summary.msPerToken.target, 2)} ms; ` +
        `target / draft ${times(summary.targetDraftTokenCostRatio)}`,
    );
  }
  for (const m of extra.skipped) lines.push(`skipped: ${m.label}: ${m.reason}`);
  for (const n of extra.notes) lines.push(`note: ${n}`);
  return `${lines.join("\n")}\n`;
}
