import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import type { PairIdentity } from "../calibration/pair-identity.js";
import { embeddedModelsDir } from "../paths.js";
import type { PairRates } from "./types.js";

/**
 * Pairs the project has measured (models/measured-pairs.json): how routing and token speculation
 * behaved on each in a committed bench run, so `policy: "auto"` can predict them on a user's
 * machine before that user has run either. Keyed by the models' fingerprints (pair-identity.ts).
 */
const RatesSchema = v.object({
  router: v.string(),
  threshold: v.number(),
  keepShare: v.nullable(v.number()),
  acceptance: v.nullable(v.number()),
  reuseShare: v.nullable(v.number()),
  stepTokens: v.number(),
  source: v.string(),
});
const FileSchema = v.object({
  pairs: v.array(v.object({ name: v.string(), draft: v.string(), target: v.string(), rates: RatesSchema })),
});
export type MeasuredPair = v.InferOutput<typeof FileSchema>["pairs"][number];

let cached: MeasuredPair[] | null = null;

export function measuredPairs(): MeasuredPair[] {
  if (cached) return cached;
  try {
    cached = v.parse(FileSchema, JSON.parse(readFileSync(join(embeddedModelsDir(), "measured-pairs.json"), "utf8"))).pairs;
  } catch {
    // A packaging without the file (or a broken one) only loses the head start: rates come from the user's runs.
    cached = [];
  }
  return cached;
}

/** The project's measured rates for this pair with this router, or null. */
export function measuredRates(pair: PairIdentity, router: string): PairRates | null {
  const hit = measuredPairs().find((p) => p.draft === pair.draft.fingerprint && p.target === pair.target.fingerprint);
  if (!hit) return null;
  const r = hit.rates;
  return {
    keepShare: r.router === router ? r.keepShare : null,
    keepThreshold: r.router === router ? r.threshold : null,
    acceptance: r.acceptance,
    reuseShare: r.reuseShare,
    stepTokens: r.stepTokens,
    source: `${hit.name}: ${r.source}`,
  };
}
