import type { ModelRole } from "../engine/index.js";
import { PAPER_PROJECTION, predictRunMs, projectedCosts, type CallCosts } from "../engine/cost/predict.js";
import { isSpeculativeMethod, type MethodId } from "./methods.js";
import type { BenchConfig, PrefixReuseRecord, RunRecord } from "./run.js";

const ROLES: readonly ModelRole[] = ["draft", "target"];

/** One row of `results`: one method at one threshold, over all measured problems. */
export interface ResultRow {
  method: MethodId;
  label: string;
  policy: string;
  threshold: number | null;
  problems: number;
  correct: number;
  /** Final-answer accuracy in [0, 1]. */
  accuracy: number;
  /**
   * Latency used on the frontier (ms per problem): the mean wall time (for the oracle its routing
   * cost), pooled over every threshold of the method that made the same decisions on every
   * problem — so picking the fastest setting does not pick the luckiest of repeated measurements.
   */
  latencyMs: number;
  /** The thresholds whose runs were pooled into latencyMs (same decisions on every problem). */
  pooledThresholds: (number | null)[];
  /** Wall time per problem as measured around engine.reason (ms). */
  meanMs: number;
  medianMs: number;
  /** Oracle only: mean and median routing cost (ms per problem). */
  routingCostMeanMs?: number;
  routingCostMedianMs?: number;
  /** Share of committed steps / committed tokens written by each model. */
  stepShare: Record<ModelRole, number>;
  tokenShare: Record<ModelRole, number>;
  /** Per problem (means). */
  stepsPerProblem: number;
  draftTokensDiscarded: number;
  /** Target tokens taken over from rejected draft steps by prefix reuse instead of being generated one by one. */
  targetTokensReused: number;
  routerMs: number;
  scorerMs: number;
  /** Router and scorer time per problem on the critical path (not hidden behind the next draft step). */
  judgeCriticalMs: number;
  /** Router and scorer calls per problem. */
  judgeCalls: number;
  /** Each model's busy time per problem (ms inside its evaluation calls: prefill, decoding and verification). */
  modelMs: Record<ModelRole, number>;
  /**
   * Each model's busy time as a share of the target-alone row's target busy time (null without a
   * target row): compute in units of the target alone, which, unlike wall time, does not hinge on
   * how this machine's cores split between the two models.
   */
  busyShareOfTarget: Record<ModelRole, number | null>;
  /**
   * The cost model's wall time per problem from this row's token counts and the engine's fitted
   * per-token costs (src/engine/cost/predict.ts), against the measured mean: 1 is exact (null:
   * no costs in the records). One per-token model must explain every method's time.
   */
  predictedShare?: number | null;
  /**
   * A projection, not a measurement: this row's mean time per problem if the target cost 4.5x the
   * draft per decoded token and a batch's further token a twentieth of a decode (the paper's GPU
   * setting), from the same token counts and the draft's measured cost.
   */
  projectedMs?: number | null;
  /**
   * Σ engine overhead / Σ wall: the engine's busy-clock overhead (wall time during which no model,
   * router or scorer was working; their times overlap) plus our call's time outside the engine's clock.
   */
  overheadShare: number;
  /** Draft tokens the target verified but did not keep (prefix reuse, token-level speculation), per problem. */
  targetVerifyWasted: number;
  /** Token-level speculation, per problem: target batch checks (rounds; prefix reuse's included), fresh draft proposal tokens made and kept. */
  verifyRounds: number;
  draftProposed: number;
  draftAccepted: number;
  /** Σ kept / Σ proposed fresh draft tokens; null when the draft proposed nothing. */
  acceptance: number | null;
  /**
   * Per model: Σ tokens evaluated / Σ committed tokens evaluated, where a run's committed tokens
   * evaluated = evaluated − discarded (at the end of a run the cache holds exactly the committed
   * text the model has read). 1.00 = every token through the model's forward pass stayed; the
   * excess is rejected speculation, prefix-reuse verification beyond the agreeing prefix and
   * re-fed tokens. null when the model evaluated nothing (e.g. the draft under `target`).
   */
  evalPerCommitted: Record<ModelRole, number | null>;
  /** The same with the rejected candidate steps (the method's intended speculation) taken out of the numerator. */
  evalPerCommittedExclRejected: Record<ModelRole, number | null>;
  finishReasons: Record<string, number>;
  /**
   * Per model: Σ time in its evaluation calls / Σ tokens it sampled (ms per generated token,
   * prompt and catch-up evaluation included). null when the model sampled nothing.
   */
  msPerGeneratedToken: Record<ModelRole, number | null>;
  /** The final answer of each problem, in problem order (null: none found). */
  answers: (string | null)[];
  /** Code problems: per problem, why its tests failed (the sandbox's reason, naming any limit reached), null where they passed. */
  testFailures?: (string | null)[];
}

export interface MatchedSetting {
  method: MethodId;
  label: string;
  threshold: number | null;
  accuracy: number;
  latencyMs: number;
  speedupVsTarget: number | null;
  speedupVsRsd: number | null;
  /** The fastest token-level speculative row's latency / this latency (speculative is lossless: the target's accuracy). */
  speedupVsSpeculative: number | null;
  /** latency / the oracle's latency at matched accuracy (1.00 = on the oracle frontier). */
  oracleLatencyRatio: number | null;
}

/** The fastest `speculative (k=…)` row: our token-level speculative decoding at its best measured k. */
export interface SpeculativeSummary {
  method: MethodId;
  label: string;
  accuracy: number;
  latencyMs: number;
  speedupVsTarget: number | null;
  acceptance: number | null;
  /** Identical answers to the target's on every problem (it is lossless). */
  answersIdenticalToTarget: boolean | null;
}

export interface PrefixReuseSummary {
  method: MethodId;
  threshold: number | null;
  problems: number;
  targetGeneratedOn: number;
  targetGeneratedOff: number;
  targetTokensReused: number;
  savedShare: number | null;
  identicalOutputs: boolean;
  mismatches: number[];
  meanMsOn: number;
  meanMsOff: number;
}

export interface RouterCost {
  /** Router ms per call, and per call on the critical path (not hidden behind the next draft step). */
  msPerCall: number;
  criticalMsPerCall: number;
  /** Draft ms per judged step (its time over the router calls: each call judges one draft step). */
  draftStepMs: number;
  share: number;
  criticalShare: number;
}

export interface Goal {
  name: string;
  value: number | null;
  goal: string;
  met: boolean | null;
}

export interface Summary {
  /**
   * Whether the matched comparison comes from the matched pass (the search ran, cli.ts): every
   * compared setting re-run side by side, rather than the sweep's rows.
   */
  matchedPass?: boolean;
  problems: number;
  targetAccuracy: number | null;
  draftAccuracy: number | null;
  /** Arbitrage (trained router) at matched accuracy. */
  arbitrageThreshold: number | null;
  arbitrageAccuracy: number | null;
  speedupVsTarget: number | null;
  speedupVsRsd: number | null;
  oracleLatencyRatio: number | null;
  /** The fastest speculative row; and arbitrage (trained router) with token speculation at matched accuracy. */
  speculative: SpeculativeSummary | null;
  arbitrageSpecThreshold: number | null;
  arbitrageSpecSpeedupVsTarget: number | null;
  arbitrageSpecSpeedupVsSpeculative: number | null;
  /** Arbitrage without token speculation vs the speculative row, at matched accuracy. */
  arbitrageSpeedupVsSpeculative: number | null;
  /** Engine overhead share of wall time for arbitrage at its matched setting. */
  engineOverheadShare: number | null;
  /** The same over every measured run of every method. */
  engineOverheadShareAllRuns: number | null;
  /** Per model, for arbitrage at its matched setting (see ResultRow.evalPerCommitted). */
  evalPerCommitted: Record<ModelRole, number | null> | null;
  evalPerCommittedExclRejected: Record<ModelRole, number | null> | null;
  /** Share of the target's generated tokens that prefix reuse saves (arbitrage at its matched setting). */
  prefixReuseSavedShare: number | null;
  prefixReuse: PrefixReuseSummary | null;
  /**
   * Cost of one generated token of each model, each from its own single-model run (`target` and
   * `draft` rows, same sweep): ms per generated token, and the target's over the draft's.
   */
  msPerToken: Record<ModelRole, number | null>;
  targetDraftTokenCostRatio: number | null;
  /** What the router costs against the draft step it judges (arbitrage, trained router, matched setting). */
  routerCost: RouterCost | null;
  matched: MatchedSetting[];
  goals: Goal[];
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]) => (xs.length ? sum(xs) / xs.length : 0);
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

function rejectedEvaluated(r: RunRecord): Record<ModelRole, number> {
  return { draft: r.rejectedDraftEvaluated, target: r.rejectedTargetEvaluated };
}

export function aggregateRow(config: BenchConfig, records: readonly RunRecord[]): ResultRow {
  const n = records.length;
  const walls = records.map((r) => r.wallMs);
  const steps = { draft: sum(records.map((r) => r.steps.draft)), target: sum(records.map((r) => r.steps.target)) };
  const tokens = { draft: sum(records.map((r) => r.tokens.draft)), target: sum(records.map((r) => r.tokens.target)) };
  const allSteps = steps.draft + steps.target;
  const allTokens = tokens.draft + tokens.target;
  const overhead = sum(records.map((r) => r.overheadMs));
  const evalRatio = (excl: boolean): Record<ModelRole, number | null> => {
    const out = {} as Record<ModelRole, number | null>;
    for (const role of ROLES) {
      const evaluated = sum(records.map((r) => r.meters[role].evaluated - (excl ? rejectedEvaluated(r)[role] : 0)));
      const kept = sum(records.map((r) => r.meters[role].evaluated - r.meters[role].discarded));
      out[role] = ratio(evaluated, kept);
    }
    return out;
  };
  const finishReasons: Record<string, number> = {};
  for (const r of records) finishReasons[r.finishReason] = (finishReasons[r.finishReason] ?? 0) + 1;
  const correct = records.filter((r) => r.correct).length;
  const costs = records.map((r) => r.routingCostMs).filter((x): x is number => x !== undefined);
  const row: ResultRow = {
    method: config.method.id,
    label: config.method.label,
    policy: config.method.policy,
    threshold: config.threshold,
    problems: n,
    correct,
    accuracy: n ? correct / n : 0,
    latencyMs: costs.length === n && n > 0 ? mean(costs) : mean(walls),
    pooledThresholds: [config.threshold],
    meanMs: mean(walls),
    medianMs: median(walls),
    stepShare: { draft: allSteps ? steps.draft / allSteps : 0, target: allSteps ? steps.target / allSteps : 0 },
    tokenShare: { draft: allTokens ? tokens.draft / allTokens : 0, target: allTokens ? tokens.target / allTokens : 0 },
    stepsPerProblem: n ? allSteps / n : 0,
    draftTokensDiscarded: mean(records.map((r) => r.draftTokensDiscarded)),
    targetTokensReused: mean(records.map((r) => r.targetTokensReused)),
    routerMs: mean(records.map((r) => r.routerMs)),
    scorerMs: mean(records.map((r) => r.scorerMs)),
    // Records saved before these were measured: every judge call was on the critical path.
    judgeCriticalMs: mean(records.map((r) => r.judgeCriticalMs ?? r.routerMs + r.scorerMs)),
    judgeCalls: mean(records.map((r) => r.judgeCalls ?? 0)),
    modelMs: { draft: mean(records.map((r) => r.modelMs.draft)), target: mean(records.map((r) => r.modelMs.target)) },
    busyShareOfTarget: { draft: null, target: null },
    overheadShare: sum(walls) > 0 ? overhead / sum(walls) : 0,
    targetVerifyWasted: mean(records.map((r) => r.targetVerifyWasted)),
    verifyRounds: mean(records.map((r) => r.verification.rounds)),
    draftProposed: mean(records.map((r) => r.verification.freshProposed)),
    draftAccepted: mean(records.map((r) => r.verification.freshAccepted)),
    acceptance: ratio(sum(records.map((r) => r.verification.freshAccepted)), sum(records.map((r) => r.verification.freshProposed))),
    evalPerCommitted: evalRatio(false),
    evalPerCommittedExclRejected: evalRatio(true),
    finishReasons,
    msPerGeneratedToken: {
      draft: ratio(sum(records.map((r) => r.modelMs.draft)), sum(records.map((r) => r.meters.draft.generated))),
      target: ratio(sum(records.map((r) => r.modelMs.target)), sum(records.map((r) => r.meters.target.generated))),
    },
    answers: records.map((r) => r.answer),
  };
  if (records.some((r) => r.testFailure !== undefined)) row.testFailures = records.map((r) => r.testFailure ?? null);
  if (costs.length === n && n > 0) {
    row.routingCostMeanMs = mean(costs);
    row.routingCostMedianMs = median(costs);
  }
  return row;
}

export function aggregateRows(configs: readonly BenchConfig[], records: readonly RunRecord[]): ResultRow[] {
  const byConfig = configs.map((_, i) => records.filter((r) => r.config === i).sort((a, b) => a.problem - b.problem));
  const rows = configs.map((c, i) => aggregateRow(c, byConfig[i]!));
  // Pool the latency of settings of one method that made identical decisions on every problem.
  const signature = (i: number) => `${configs[i]!.method.id}|${byConfig[i]!.map((r) => `${r.problem}:${r.route}`).join(",")}`;
  const groups = new Map<string, number[]>();
  configs.forEach((_, i) => groups.set(signature(i), [...(groups.get(signature(i)) ?? []), i]));
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const all = members.flatMap((i) => byConfig[i]!);
    const costs = all.map((r) => r.routingCostMs ?? r.wallMs);
    const pooled = mean(costs);
    for (const i of members) {
      rows[i]!.latencyMs = pooled;
      rows[i]!.pooledThresholds = members.map((j) => configs[j]!.threshold);
    }
  }
  const alone = rows.find((r) => r.method === "target")?.modelMs.target;
  if (alone !== undefined && alone > 0)
    for (const r of rows) r.busyShareOfTarget = { draft: r.modelMs.draft / alone, target: r.modelMs.target / alone };
  addPredictions(rows, byConfig, records);
  return rows;
}

/**
 * Each row's predicted and projected time per problem, from its records' token counts and the
 * engine's per-token costs as fitted by the end of the run (the last record's).
 */
function addPredictions(rows: ResultRow[], byConfig: readonly RunRecord[][], records: readonly RunRecord[]): void {
  const costs: CallCosts | undefined = [...records].reverse().find((r) => r.callCosts)?.callCosts;
  if (!costs) return;
  const paper = projectedCosts(costs, PAPER_PROJECTION.ratio, PAPER_PROJECTION.batchShare);
  const perProblem = (rs: readonly RunRecord[], c: CallCosts | null) => {
    if (!c || rs.length === 0) return null;
    const each = rs.map((r) => predictRunMs({ meters: r.meters, judgeMs: r.routerMs + r.scorerMs }, c));
    return each.every((x) => x !== null) ? mean(each as number[]) : null;
  };
  rows.forEach((row, i) => {
    const predicted = perProblem(byConfig[i]!, costs);
    row.predictedShare = predicted !== null && row.meanMs > 0 ? predicted / row.meanMs : null;
    row.projectedMs = perProblem(byConfig[i]!, paper);
  });
}

/** Accuracy tolerance of "matched accuracy": within 1 point (0.01) of the target's. */
export const MATCH_TOLERANCE = 0.01;

/** Whether a row's accuracy is within 1 point of the target's (the matched band). */
export function inBand(row: ResultRow, targetAccuracy: number): boolean {
  return row.accuracy >= targetAccuracy - MATCH_TOLERANCE - 1e-9;
}

/** The methods swept over thresholds, in their rows' order. */
function thresholdedMethods(rows: readonly ResultRow[]): MethodId[] {
  return [...new Set(rows.filter((r) => r.threshold !== null).map((r) => r.method))];
}

/** The fastest row of a method whose accuracy is within 1 point of the target's (ties: the more accurate). */
export function matchedRow(rows: readonly ResultRow[], method: MethodId, targetAccuracy: number): ResultRow | null {
  const ok = rows.filter((r) => r.method === method && inBand(r, targetAccuracy));
  ok.sort((a, b) => a.latencyMs - b.latencyMs || b.accuracy - a.accuracy || (a.threshold ?? 0) - (b.threshold ?? 0));
  return ok[0] ?? null;
}

/** The finest step of the default grid: a bracket no wider than this is as fine as the bench looks. */
export const FINE_THRESHOLD_STEP = 0.01;

/** A method whose matched point could move with a finer grid (see gridDependence). */
export interface GridDependence {
  method: MethodId;
  label: string;
  /** Its matched setting. */
  matched: number;
  matchedAccuracy: number;
  /** The bracket's end inside the band (often the matched setting itself). */
  inside: number;
  insideAccuracy: number;
  /** The neighbouring threshold below the band, faster than the matched setting. */
  neighbour: number;
  neighbourAccuracy: number;
}

/**
 * Where a method's matched point depends on the grid: two neighbouring thresholds, one inside the
 * band and one below it, further apart than `fine`, where the one below is faster than the matched
 * setting. The band's edge is crossed somewhere between the two, so a threshold in between may be
 * matched and faster (on a 0.1 grid rsd's matched point can fall to 1 and make arbitrage look
 * far ahead of it). The inside end need not be the matched
 * setting itself: a slightly slower setting closer to the edge (latency is measured, so noisy)
 * still brackets it. The bench names each such bracket, so a comparison that rests on a coarse
 * grid is visible instead of silent, and its search (`refinementThresholds`) halves them.
 */
export function gridDependence(rows: readonly ResultRow[], targetAccuracy: number, fine = FINE_THRESHOLD_STEP): GridDependence[] {
  const out: GridDependence[] = [];
  for (const method of thresholdedMethods(rows)) {
    const m = matchedRow(rows, method, targetAccuracy);
    if (m === null || m.threshold === null) continue;
    const own = rows.filter((r) => r.method === method && r.threshold !== null).sort((a, b) => a.threshold! - b.threshold!);
    for (let i = 0; i + 1 < own.length; i++) {
      const [a, b] = [own[i]!, own[i + 1]!];
      if (inBand(a, targetAccuracy) === inBand(b, targetAccuracy)) continue;
      const [inside, below] = inBand(a, targetAccuracy) ? [a, b] : [b, a];
      if (below.latencyMs >= m.latencyMs) continue;
      if (b.threshold! - a.threshold! <= fine + 1e-9) continue;
      out.push({
        method,
        label: m.label,
        matched: m.threshold,
        matchedAccuracy: m.accuracy,
        inside: inside.threshold!,
        insideAccuracy: inside.accuracy,
        neighbour: below.threshold!,
        neighbourAccuracy: below.accuracy,
      });
    }
  }
  return out;
}

/**
 * How fine the bench's own search refines a matched point (`--refine`): bisection stops when the
 * bracket is no wider than this. Finer than the default grid's 0.01, because near 1 one hundredth
 * of rsd's threshold is a large step (on set A 0.98 → 0.99 sends 40% → 49% of the steps).
 */
export const REFINE_THRESHOLD_STEP = 0.001;

/** One threshold the refinement runs next: the midpoint of a method's bracket. */
export interface Refinement {
  method: MethodId;
  threshold: number;
}

/**
 * The next round of the matched-point search: for every method whose matched point depends on the
 * grid (gridDependence, down to REFINE_THRESHOLD_STEP), the midpoint of its bracket, skipping
 * thresholds the method has already run. Each round halves every open bracket, so the search ends
 * when none is wider than the step; every thresholded method is searched alike, so no method's
 * matched point rests on a coarser grid than another's.
 */
export function refinementThresholds(rows: readonly ResultRow[], targetAccuracy: number): Refinement[] {
  const out: Refinement[] = [];
  for (const d of gridDependence(rows, targetAccuracy, REFINE_THRESHOLD_STEP)) {
    const threshold = Math.round(((d.inside + d.neighbour) / 2) * 1e4) / 1e4;
    const ran = rows.some((r) => r.method === d.method && r.threshold !== null && Math.abs(r.threshold - threshold) < 1e-9);
    if (ran || out.some((x) => x.method === d.method && x.threshold === threshold)) continue;
    out.push({ method: d.method, threshold });
  }
  return out;
}

/**
 * The settings the matched pass re-runs side by side (indices into `rows`): every setting without a
 * threshold (target, draft, token-level speculation), and for each thresholded method its fastest
 * in-band setting of the grid and of the search. The search's runs come after the sweep in a
 * rotation of a few settings instead of all of them, and on 2 cores that alone can make them ~15%
 * faster; so their latencies are not compared with the sweep's, and both candidates are measured
 * again in one pass, where the faster in-band one is the matched point.
 */
export function matchedCandidates(rows: readonly ResultRow[], searched: readonly boolean[], targetAccuracy: number): number[] {
  const out = new Set<number>();
  rows.forEach((r, i) => {
    if (r.threshold === null) out.add(i);
  });
  for (const method of thresholdedMethods(rows)) {
    for (const phase of [false, true]) {
      const own = rows.filter((r, i) => r.method === method && r.threshold !== null && searched[i] === phase);
      const m = matchedRow(own, method, targetAccuracy);
      if (m) out.add(rows.indexOf(m));
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** One bench note per grid dependence, naming the bracket to refine. */
export function gridDependenceNote(d: GridDependence): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const [lo, hi] = d.inside < d.neighbour ? [d.inside, d.neighbour] : [d.neighbour, d.inside];
  const inside = d.inside === d.matched ? "" : `; ${d.inside} is in the band too (${pct(d.insideAccuracy)})`;
  return `${d.label}: matched at threshold ${d.matched} (${pct(d.matchedAccuracy)})${inside}, while ${d.neighbour}, faster, falls below the band (${pct(d.neighbourAccuracy)}); its matched point depends on the grid between ${lo} and ${hi} — add thresholds there (or --refine) to compare it fairly`;
}

export function summarise(
  rows: readonly ResultRow[],
  records: readonly RunRecord[],
  prefix: { config: BenchConfig; records: PrefixReuseRecord[] } | null,
): Summary {
  const one = (id: MethodId) => rows.find((r) => r.method === id) ?? null;
  const target = one("target");
  const draft = one("draft");
  const methods = [...new Set(rows.map((r) => r.method))];
  const matchedOf = new Map<MethodId, ResultRow | null>();
  for (const m of methods) matchedOf.set(m, target ? matchedRow(rows, m, target.accuracy) : null);
  const rsd = matchedOf.get("rsd-prm") ?? null;
  const oracle = matchedOf.get("oracle") ?? null;
  const spec = rows.filter((r) => isSpeculativeMethod(r.method)).sort((a, b) => a.latencyMs - b.latencyMs)[0] ?? null;
  const matched: MatchedSetting[] = methods.map((m) => {
    const row = matchedOf.get(m) ?? null;
    const label = rows.find((r) => r.method === m)!.label;
    if (!row)
      return {
        method: m,
        label,
        threshold: null,
        accuracy: NaN,
        latencyMs: NaN,
        speedupVsTarget: null,
        speedupVsRsd: null,
        speedupVsSpeculative: null,
        oracleLatencyRatio: null,
      };
    return {
      method: m,
      label,
      threshold: row.threshold,
      accuracy: row.accuracy,
      latencyMs: row.latencyMs,
      speedupVsTarget: target ? ratio(target.latencyMs, row.latencyMs) : null,
      speedupVsRsd: rsd ? ratio(rsd.latencyMs, row.latencyMs) : null,
      speedupVsSpeculative: spec ? ratio(spec.latencyMs, row.latencyMs) : null,
      oracleLatencyRatio: oracle ? ratio(row.latencyMs, oracle.latencyMs) : null,
    };
  });
  const arb = matchedOf.get("arbitrage") ?? null;
  const arbMatched = matched.find((m) => m.method === "arbitrage") ?? null;
  const arbSpecMatched = matched.find((m) => m.method === "arbitrage+spec" && Number.isFinite(m.latencyMs)) ?? null;
  const walls = sum(records.map((r) => r.wallMs));
  const overheads = sum(records.map((r) => r.overheadMs));

  let prefixReuse: PrefixReuseSummary | null = null;
  if (prefix && prefix.records.length > 0) {
    const on = sum(prefix.records.map((p) => p.on.targetGenerated));
    const off = sum(prefix.records.map((p) => p.off.targetGenerated));
    prefixReuse = {
      method: prefix.config.method.id,
      threshold: prefix.config.threshold,
      problems: prefix.records.length,
      targetGeneratedOn: on,
      targetGeneratedOff: off,
      targetTokensReused: sum(prefix.records.map((p) => p.on.targetReused)),
      savedShare: off > 0 ? (off - on) / off : null,
      identicalOutputs: prefix.records.every((p) => p.identical),
      mismatches: prefix.records.filter((p) => !p.identical).map((p) => p.problem),
      meanMsOn: mean(prefix.records.map((p) => p.on.wallMs)),
      meanMsOff: mean(prefix.records.map((p) => p.off.wallMs)),
    };
  }

  const s: Summary = {
    problems: target?.problems ?? rows[0]?.problems ?? 0,
    targetAccuracy: target?.accuracy ?? null,
    draftAccuracy: draft?.accuracy ?? null,
    arbitrageThreshold: arb?.threshold ?? null,
    arbitrageAccuracy: arb?.accuracy ?? null,
    speedupVsTarget: arbMatched?.speedupVsTarget ?? null,
    speedupVsRsd: arbMatched?.speedupVsRsd ?? null,
    oracleLatencyRatio: arbMatched?.oracleLatencyRatio ?? null,
    speculative: spec
      ? {
          method: spec.method,
          label: spec.label,
          accuracy: spec.accuracy,
          latencyMs: spec.latencyMs,
          speedupVsTarget: target ? ratio(target.latencyMs, spec.latencyMs) : null,
          acceptance: spec.acceptance,
          answersIdenticalToTarget: target ? spec.answers.every((a, i) => a === target.answers[i]) : null,
        }
      : null,
    arbitrageSpecThreshold: arbSpecMatched?.threshold ?? null,
    arbitrageSpecSpeedupVsTarget: arbSpecMatched?.speedupVsTarget ?? null,
    arbitrageSpecSpeedupVsSpeculative: arbSpecMatched?.speedupVsSpeculative ?? null,
    arbitrageSpeedupVsSpeculative: arbMatched?.speedupVsSpeculative ?? null,
    engineOverheadShare: arb?.overheadShare ?? null,
    engineOverheadShareAllRuns: walls > 0 ? overheads / walls : null,
    evalPerCommitted: arb?.evalPerCommitted ?? null,
    evalPerCommittedExclRejected: arb?.evalPerCommittedExclRejected ?? null,
    prefixReuseSavedShare: prefixReuse?.savedShare ?? null,
    prefixReuse,
    msPerToken: { draft: draft?.msPerGeneratedToken.draft ?? null, target: target?.msPerGeneratedToken.target ?? null },
    targetDraftTokenCostRatio: null,
    routerCost: arb ? routerCostOf(arb) : null,
    matched,
    goals: [],
  };
  if (s.msPerToken.draft !== null && s.msPerToken.target !== null) s.targetDraftTokenCostRatio = ratio(s.msPerToken.target, s.msPerToken.draft);
  s.goals = goals(s);
  return s;
}

function routerCostOf(row: ResultRow): RouterCost | null {
  if (!(row.judgeCalls > 0) || !(row.modelMs.draft > 0)) return null;
  const msPerCall = row.routerMs / row.judgeCalls;
  const criticalMsPerCall = row.judgeCriticalMs / row.judgeCalls;
  const draftStepMs = row.modelMs.draft / row.judgeCalls;
  return { msPerCall, criticalMsPerCall, draftStepMs, share: msPerCall / draftStepMs, criticalShare: criticalMsPerCall / draftStepMs };
}

function bestOf(...xs: (number | null)[]): number | null {
  const known = xs.filter((x): x is number => x !== null);
  return known.length > 0 ? Math.max(...known) : null;
}

/** The project's goals for the bench (bench/README.md says where each stands and why). */
function goals(s: Summary): Goal[] {
  const g = (name: string, value: number | null, goal: string, ok: (v: number) => boolean): Goal => ({
    name,
    value,
    goal,
    met: value === null ? null : ok(value),
  });
  const epc = s.evalPerCommitted;
  const worst = epc ? Math.max(...ROLES.map((r) => epc[r] ?? 0)) : null;
  return [
    g("arbitrage speedup vs target at matched accuracy", s.speedupVsTarget, ">= 2.2x", (v) => v >= 2.2),
    g("arbitrage speedup vs rsd (learned PRM) at matched accuracy", s.speedupVsRsd, ">= 1.5x", (v) => v >= 1.5),
    g("arbitrage latency / oracle latency at matched accuracy", s.oracleLatencyRatio, "<= 1.25", (v) => v <= 1.25),
    g(
      "best of arbitrage, arbitrage + token spec vs speculative (token level) at matched accuracy",
      bestOf(s.arbitrageSpeedupVsSpeculative, s.arbitrageSpecSpeedupVsSpeculative),
      ">= 1.5x",
      (v) => v >= 1.5,
    ),
    g("router time on the critical path per step / draft step (arbitrage, matched)", s.routerCost?.criticalShare ?? null, "<= 30%", (v) => v <= 0.3),
    g("engine overhead share of wall time (arbitrage, matched)", s.engineOverheadShare, "< 3%", (v) => v < 0.03),
    g("evaluated / committed tokens, worst model (arbitrage, matched)", worst, "<= 1.02", (v) => v <= 1.02),
    g(
      "prefix reuse: share of target tokens saved (identical outputs)",
      s.prefixReuseSavedShare,
      "report",
      () => s.prefixReuse?.identicalOutputs === true,
    ),
  ];
}
