import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import type { ConfidenceWeights } from "../confidence.js";
import { describePair, pairKey, sameModel, type PairIdentity } from "./pair-identity.js";

/**
 * A calibration file: the confidence router's weights fitted for one draft → target pair, with
 * how they were measured. Written by `arbitrage calibrate` (and the VS Code command), read by the
 * engine when it loads that pair. One file per pair, named by `pairKey`, in a calibration folder.
 */

/** Bumped when the router's features or this file's meaning change: older files are then outdated. */
export const CALIBRATION_VERSION = 1;
export const CALIBRATION_FORMAT = "arbitrage-calibration";

const identity = v.object({ file: v.string(), sizeBytes: v.number(), architecture: v.string(), name: v.string(), fingerprint: v.string() });
const finite = v.pipe(v.number(), v.finite());
const share = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
const rowCounts = v.object({ problems: v.number(), rows: v.number(), positives: v.number() });

const CalibrationSchema = v.object({
  format: v.literal(CALIBRATION_FORMAT),
  version: v.number(),
  createdAt: v.string(),
  pair: v.object({ draft: identity, target: identity }),
  /** How each step was labelled: "exact" (the embedded task's checker), "outcome" (each step continued by the target to a final answer, checked against the known one) or "prm" (a PRM file). */
  labelMethod: v.picklist(["exact", "outcome", "prm"]),
  router: v.object({
    kind: v.literal("confidence"),
    weights: v.object({ bias: finite, meanSurprisal: finite, maxSurprisal: finite, meanEntropy: finite, length: finite, position: finite }),
  }),
  train: rowCounts,
  heldout: v.object({ ...rowCounts.entries, auc: share, defaultWeightsAuc: v.nullable(share) }),
  /** The highest threshold that still sends ≥ 95% of the held-out advantage steps to the target. */
  suggestedThreshold: share,
  /** Share of held-out steps the target writes at that threshold. */
  suggestedTargetShare: share,
  seconds: v.number(),
});

export type Calibration = v.InferOutput<typeof CalibrationSchema>;

/** The calibration folder: $ARBITRAGE_CALIBRATIONS, else ~/.cache/arbitrage/calibrations (VS Code passes its global storage). */
export function defaultCalibrationDir(): string {
  return process.env.ARBITRAGE_CALIBRATIONS ?? join(homedir(), ".cache", "arbitrage", "calibrations");
}

export function calibrationPath(dir: string, pair: PairIdentity): string {
  return join(dir, `${pairKey(pair)}.json`);
}

/** What the engine found for a pair: calibrated weights, or the defaults with the reason. */
export type CalibrationLookup =
  | { kind: "calibrated"; path: string; calibration: Calibration; weights: ConfidenceWeights; description: string }
  | { kind: "none"; description: string; notice: string | null };

export function calibratedDescription(c: Calibration): string {
  return `confidence, calibrated for this pair, AUC ${c.heldout.auc.toFixed(2)}`;
}

const DEFAULTS = "confidence, default weights";

/**
 * Finds and checks the calibration for a pair. Never throws: a missing, corrupt, outdated or
 * mismatched file means the default weights, and every case but "missing" says so in a notice.
 */
export async function lookupCalibration(dir: string, pair: PairIdentity): Promise<CalibrationLookup> {
  const path = calibrationPath(dir, pair);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    return {
      kind: "none",
      description: DEFAULTS,
      notice: missing
        ? `No router calibration for ${describePair(pair)}: the confidence router uses its default weights (fitted on the embedded pair). Run \`arbitrage calibrate\` to fit it to this pair.`
        : `The router calibration ${path} cannot be read (${(e as Error).message}): using the default weights.`,
    };
  }
  const checked = parseCalibration(text, path);
  if ("error" in checked)
    return {
      kind: "none",
      description: DEFAULTS,
      notice: `${checked.error} Using the confidence router's default weights; run \`arbitrage calibrate\` again to replace it.`,
    };
  const c = checked.calibration;
  if (!sameModel(c.pair.draft, pair.draft) || !sameModel(c.pair.target, pair.target)) {
    return {
      kind: "none",
      description: DEFAULTS,
      notice: `The router calibration ${path} was made for ${describePair(c.pair)}, not for this pair (${describePair(pair)}): using the default weights.`,
    };
  }
  return { kind: "calibrated", path, calibration: c, weights: c.router.weights, description: calibratedDescription(c) };
}

/** Parses a calibration file's text; an error names what is wrong with it. */
export function parseCalibration(text: string, path: string): { calibration: Calibration } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: `The router calibration ${path} is corrupt (not JSON: ${(e as Error).message}).` };
  }
  const version = (value as { version?: unknown } | null)?.version;
  if (typeof version === "number" && version !== CALIBRATION_VERSION && (value as { format?: unknown }).format === CALIBRATION_FORMAT) {
    return { error: `The router calibration ${path} is outdated (version ${version}; this engine reads version ${CALIBRATION_VERSION}).` };
  }
  const parsed = v.safeParse(CalibrationSchema, value);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue ? v.getDotPath(issue) : null;
    return { error: `The router calibration ${path} is corrupt (${where ? `${where}: ` : ""}${issue?.message ?? "unexpected shape"}).` };
  }
  return { calibration: parsed.output };
}

/** Writes a file whole or not at all (a temporary file renamed over the old one): a reader never sees half of it. */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export async function writeCalibration(dir: string, c: Calibration): Promise<string> {
  const path = calibrationPath(dir, c.pair);
  await writeFileAtomically(path, `${JSON.stringify(c, null, 2)}\n`);
  return path;
}
