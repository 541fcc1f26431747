import type { LlamaModel } from "node-llama-cpp";
import { answerMatches, extractFinalAnswer } from "../answer.js";
import type { StepJudge, JudgeRun } from "../judges.js";
import type { ModelFileCheck } from "../model-files.js";
import type { GeneratingSession } from "../generator.js";
import type { CandidateStep } from "../step.js";
import { buildPrompt, type BuiltPrompt } from "../prompt.js";
import type { ReasonOptions } from "../types.js";

/** A generating model on its own context (ArbitrageEngine.forkGenerator). */
export interface ForkedGenerator {
  check: ModelFileCheck;
  model: LlamaModel;
  session: GeneratingSession;
}

/**
 * Outcome-based step labels for pairs without an exact checker: a step is worth 1 when, continued
 * greedily by the target from the step's context to a final answer, it reaches the known answer,
 * else 0. The target continues both candidates (not each its own writer), so the label measures
 * the step, not the continuing model: the two continuations differ only in the step under test.
 * The oracle's "target better by more than 0" then means: the target's step leads to the right
 * answer and the draft's does not.
 */
export class OutcomeJudge implements StepJudge {
  readonly name = "outcome";
  readonly needsConfidences = false;
  readonly meter = { calls: 0, ms: 0 };
  private committed = "";
  private prompt: BuiltPrompt | null = null;
  /** Continued tokens of this answer (all continuations), for the progress figures. */
  continuedTokens = 0;

  constructor(
    private readonly continuer: ForkedGenerator,
    private readonly answer: string,
    private readonly options: ReasonOptions,
    private readonly signal?: AbortSignal,
  ) {}

  async begin(run: JudgeRun): Promise<void> {
    this.committed = "";
    this.prompt = buildPrompt(this.continuer.model, this.continuer.check, run.question, this.options.promptStyle);
    this.meter.calls = 0;
    this.meter.ms = 0;
  }

  private ends(text: string): boolean {
    const marker = this.options.finalAnswerMarker;
    return marker !== "" && text.trim().startsWith(marker);
  }

  async judge(step: CandidateStep, stepIndex: number): Promise<number> {
    const started = performance.now();
    const { session, model } = this.continuer;
    const prompt = this.prompt!;
    let text = this.committed + step.text;
    if (!(this.ends(step.text) || step.endedBy === "eos")) {
      await session.reset(prompt.tokens);
      session.appendCommitted(model.tokenize(text, false, "trimLeadingSpace"));
      const limits = {
        delimiter: this.options.stepDelimiter,
        maxTokens: this.options.maxTokensPerStep,
        temperature: 0,
        signal: this.signal,
        wantConfidences: false,
      };
      for (let i = stepIndex + 1; i < this.options.maxSteps; i++) {
        const next = await session.generateStep(limits);
        this.continuedTokens += next.tokens.length;
        if (next.endedBy === "cancelled" || prompt.endOfAnswerPrefixes.some((p) => next.text.trimStart().startsWith(p))) {
          await session.discardCandidate();
          break;
        }
        session.commitCandidate(next);
        text += next.text;
        if (next.endedBy !== "delimiter" || this.ends(next.text) || session.roomLeft() <= 1) break;
      }
    }
    this.meter.calls++;
    this.meter.ms += performance.now() - started;
    return answerMatches(extractFinalAnswer(text, this.options.finalAnswerMarker), this.answer) ? 1 : 0;
  }

  commit(text: string): void {
    this.committed += text;
  }
}
