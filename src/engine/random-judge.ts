import { createHash } from "node:crypto";
import type { CandidateStep } from "./step.js";
import type { JudgeRun, StepJudge } from "./judges.js";

/**
 * Random routing, the control every router must beat at the same share of target steps: the
 * score of a step is uniform in [0, 1), so under `arbitrage` (draft kept when score < threshold)
 * each step goes to the target with probability 1 − threshold, whatever it says.
 *
 * The draw is a hash of (seed, question, step index), not a generator's state: a run is
 * reproducible, a request's draws do not depend on what ran before it, and one question gets the
 * same draws at every threshold, so a higher threshold never sends a step to the target that a
 * lower one kept (common random numbers across the sweep).
 */
export class RandomJudge implements StepJudge {
  readonly name = "random";
  readonly needsConfidences = false;
  readonly meter = { calls: 0, ms: 0 };
  private question = "";

  constructor(private readonly seed = 0) {}

  async begin(run: JudgeRun): Promise<void> {
    this.question = run.question;
    this.meter.calls = 0;
    this.meter.ms = 0;
  }

  async judge(_step: CandidateStep, stepIndex: number): Promise<number> {
    const started = performance.now();
    const score = uniformDraw(this.seed, this.question, stepIndex);
    this.meter.calls++;
    this.meter.ms += performance.now() - started;
    return score;
  }

  commit(): void {}
}

/** A uniform number in [0, 1) from (seed, question, step index): 48 bits of their SHA-256. */
export function uniformDraw(seed: number, question: string, stepIndex: number): number {
  const digest = createHash("sha256").update(`${seed}\u0000${stepIndex}\u0000${question}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}
