import { readdirSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ArbitrageEngine, ArbitrageError, REASON_DEFAULTS } from "../engine/index.js";
import { modelConfigFromFlags } from "./flags.js";

/**
 * `arbitrage soak`: many sequential requests in one engine process, to show that nothing leaks
 * and nothing drifts. A handful of questions is cycled; the first answer to each is the
 * reference and every later answer must equal it step for step (same text, same writer).
 * Memory (RSS) and open file descriptors are sampled after the warm-up and at the end.
 */
const SOAK_QUESTIONS = ["(12+7)*3-5", "48-19+7*6", "(35+28)-4*9", "90-(17+26)*2", "6*(14-9)+53", "61-15+3*8", "7*8-(40-13)", "(66-39)*3+12"];

/** A full garbage collection before each memory sample, so RSS reflects live memory (works without --expose-gc on the command line). */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

function openFds(): number {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return NaN; // not Linux
  }
}

export interface SoakReport {
  requests: number;
  warmup: number;
  mismatches: number;
  rssAfterWarmupMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  rssGrowthPercent: number;
  fdsAfterWarmup: number;
  fdsEnd: number;
  requestsPerSecond: number;
}

export async function runSoak(o: Record<string, unknown>): Promise<void> {
  const requests = Number(o.requests ?? 500);
  const warmup = Number(o.warmup ?? 100);
  if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(warmup) || warmup < 0 || warmup >= requests) {
    throw new ArbitrageError(
      "invalid-option",
      `--requests must be a whole number >= 1 and --warmup a smaller whole number (got ${o.requests}, ${o.warmup}).`,
    );
  }
  const options = { policy: (o.policy as string | undefined) ?? REASON_DEFAULTS.policy, threshold: Number(o.threshold) };
  const engine = await ArbitrageEngine.create(modelConfigFromFlags(o));
  const mib = () => process.memoryUsage().rss / 2 ** 20;
  const reference = new Map<string, string>();
  let mismatches = 0;
  let rssAfterWarmup = 0;
  let fdsAfterWarmup = 0;
  let rssMax = 0;
  let started = 0;
  try {
    for (let i = 0; i < requests; i++) {
      if (i === warmup) {
        collectGarbage();
        rssAfterWarmup = mib();
        fdsAfterWarmup = openFds();
        started = performance.now();
      }
      const q = SOAK_QUESTIONS[i % SOAK_QUESTIONS.length]!;
      const r = await engine.reason(q, options);
      const fingerprint = JSON.stringify(r.steps.map((s) => [s.model, s.text]));
      const first = reference.get(q);
      if (first === undefined) reference.set(q, fingerprint);
      else if (first !== fingerprint) mismatches++;
      rssMax = Math.max(rssMax, mib());
      if (!o.json && (i + 1) % 50 === 0) process.stderr.write(`soak: ${i + 1}/${requests} requests, rss ${mib().toFixed(1)} MiB, fds ${openFds()}\n`);
    }
    collectGarbage();
    const rssEnd = mib();
    const report: SoakReport = {
      requests,
      warmup,
      mismatches,
      rssAfterWarmupMiB: +rssAfterWarmup.toFixed(2),
      rssEndMiB: +rssEnd.toFixed(2),
      rssMaxMiB: +rssMax.toFixed(2),
      rssGrowthPercent: +((100 * (rssEnd - rssAfterWarmup)) / rssAfterWarmup).toFixed(2),
      fdsAfterWarmup,
      fdsEnd: openFds(),
      requestsPerSecond: +((1000 * (requests - warmup)) / (performance.now() - started)).toFixed(1),
    };
    process.stdout.write(
      o.json
        ? `${JSON.stringify(report)}\n`
        : `${Object.entries(report)
            .map(([k, v]) => `${k}: ${v}`)
            .join("\n")}\n`,
    );
    if (mismatches > 0) process.exitCode = 1;
  } finally {
    await engine.dispose();
  }
}
