import type { Token } from "node-llama-cpp";
import { ArbitrageError } from "./errors.js";
import type { ClassifierSession } from "./classifier-session.js";
import type { CandidateStep } from "./step.js";
import { ArithmeticChecker } from "./task/arithmetic.js";
import { featureVector, logisticScore } from "./calibration/logistic.js";
import { DEFAULT_CONFIDENCE_WEIGHTS, type ConfidenceWeights } from "./confidence.js";

export { confidenceFeatures } from "./calibration/logistic.js";

/**
 * Routers and scorers both judge a candidate step in its context and return a number in [0, 1]:
 * a router the probability that the target would write a meaningfully better step, a scorer
 * (PRM) the probability that the step is correct. One interface serves both so any judge can be
 * plugged into any role; the policies decide what the number means.
 */
export interface JudgeRun {
  question: string;
  /** The prompt in the judge's own tokenizer (classifier judges only). */
  promptTokens: () => Token[];
  delimiter: string;
}

export interface StepJudge {
  readonly name: string;
  /** Whether `judge` needs the step's token confidences (makes the draft ask for them). */
  readonly needsConfidences: boolean;
  /** A new answer starts. */
  begin(run: JudgeRun): Promise<void>;
  judge(step: CandidateStep, stepIndex: number): Promise<number>;
  /** A step was committed (text, and a lazily-tokenised form for classifier judges). */
  commit(stepText: string, tokens: () => readonly Token[]): void;
  readonly meter: { calls: number; ms: number };
}

/**
 * The embedded router or PRM, or any GGUF classifier with arbitrage.classifier metadata. A file
 * that mixes in the draft's token confidences needs them from the draft: the router in every step it
 * judges; the PRM where it judges a draft step for rsd (a step judged without them, as the oracle
 * judges both candidates alike, gets the file's plain score).
 */
export class ModelJudge implements StepJudge {
  readonly needsConfidences: boolean;
  private delimiter = "\n\n";
  constructor(
    readonly name: string,
    private readonly session: ClassifierSession,
    /** The classifier shares the generators' vocabulary: a step's token ids are read as they are. */
    private readonly sharesTokenizer = false,
    private readonly kind: "router" | "scorer" = "router",
  ) {
    this.needsConfidences = session.spec.confidence !== null;
  }
  get meter() {
    return this.session.meter;
  }
  async begin(run: JudgeRun): Promise<void> {
    this.delimiter = run.delimiter;
    await this.session.reset(run.promptTokens());
  }
  async judge(step: CandidateStep, stepIndex: number): Promise<number> {
    const features = this.needsConfidences && step.confidences ? featureVector(step.confidences, stepIndex) : undefined;
    if (this.needsConfidences && !features && this.kind === "router")
      throw new ArbitrageError("internal", "This router mixes in the draft's token confidences, but the step came without them.");
    return this.session.classify(step.text, this.delimiter, this.sharesTokenizer ? step.tokens : undefined, features);
  }
  commit(_text: string, tokens: () => readonly Token[]): void {
    this.session.appendCommitted(tokens());
  }
}

export class ConfidenceJudge implements StepJudge {
  readonly name = "confidence";
  readonly needsConfidences = true;
  readonly meter = { calls: 0, ms: 0 };
  /** The defaults, or the weights calibrated for this pair (src/engine/calibration). */
  constructor(private readonly weights: ConfidenceWeights = DEFAULT_CONFIDENCE_WEIGHTS) {}
  async begin(): Promise<void> {
    this.meter.calls = 0;
    this.meter.ms = 0;
  }
  async judge(step: CandidateStep, stepIndex: number): Promise<number> {
    const started = performance.now();
    if (!step.confidences) throw new ArbitrageError("internal", "The confidence router needs token confidences from the draft.");
    const score = logisticScore(this.weights, featureVector(step.confidences, stepIndex));
    this.meter.calls++;
    this.meter.ms += performance.now() - started;
    return score;
  }
  commit(): void {}
}

/** The exact checker of the embedded arithmetic task, as an ideal PRM (1 = correct step, 0 = wrong). */
export class ExactArithmeticJudge implements StepJudge {
  readonly name = "exact";
  readonly needsConfidences = false;
  readonly meter = { calls: 0, ms: 0 };
  private checker: ArithmeticChecker | null = null;
  async begin(run: JudgeRun): Promise<void> {
    this.checker = ArithmeticChecker.fromQuestion(run.question);
    if (!this.checker) {
      throw new ArbitrageError(
        "invalid-question",
        'The exact checker only judges integer arithmetic questions such as "(12+7)*3-5". Use the embedded or a GGUF scorer for other questions.',
      );
    }
    this.meter.calls = 0;
    this.meter.ms = 0;
  }
  async judge(step: CandidateStep): Promise<number> {
    const started = performance.now();
    const score = this.checker!.score(step.text);
    this.meter.calls++;
    this.meter.ms += performance.now() - started;
    return score;
  }
  commit(text: string): void {
    this.checker!.apply(text);
  }
}
