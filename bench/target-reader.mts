/**
 * The target reading a draft step: the context is evaluated into a sequence of the target, then the
 * step's tokens in one batch, and each position's logits give the log-probability of the step's
 * next token and the target's own top choice. Shared by bench/target-reading.mts (how well and at
 * what cost it routes) and bench/reading-separation.mts (whether it separates advantage from
 * correctness). A measurement for issue 14, not an engine judge: on the project's CPUs it costs 1.7–3
 * times a draft step (bench/README.md, *What closing the oracle gap would take*).
 */
import type { Llama, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { checkModelFile, type ModelFileCheck } from "../src/engine/model-files.js";
import { withBos } from "../src/engine/prompt.js";
import { contextOptions, loadModel } from "../src/engine/runtime.js";
import type { ModelConfig } from "../src/engine/types.js";

export interface OpenModel {
  check: ModelFileCheck;
  model: LlamaModel;
  sequence: LlamaContextSequence;
}

/** A model with one sequence, with the engine's loading path and context options (`flashAttention` overrides). */
export async function openModel(
  llama: Llama,
  config: ModelConfig,
  path: string,
  label: string,
  purpose: "generate" | "classify",
  flashAttention?: boolean,
): Promise<OpenModel> {
  const check = await checkModelFile(path, label);
  const model = await loadModel(llama, check, label, config);
  const options = contextOptions(check, config, purpose);
  const context = await model.createContext(flashAttention === undefined ? options : { ...options, flashAttention });
  return { check, model, sequence: context.getSequence() };
}

/** Text as the engine's prompts tokenise it; `bos`: a whole context, with BOS first where the model wants it (the engine's `withBos`). */
export function tokensOf(model: LlamaModel, text: string, bos = false): Token[] {
  const t = model.tokenize(text, false, "trimLeadingSpace");
  return bos ? withBos(model, t) : t;
}

/** What the target's reading says of a step. Surprisal is −ln p of the step's token under the target. */
export interface StepReading {
  maxSurprisal: number;
  meanSurprisal: number;
  /** 1 when some step token is not the target's top choice at its position, else 0. */
  diverges: number;
  /** The target's probability of its own top choice at the first such position (0 without one): how sure it is of its alternative. */
  targetTopAtDivergence: number;
}

export const READING_FEATURES = ["maxSurprisal", "meanSurprisal", "diverges", "targetTopAtDivergence"] as const;

export class TargetReader {
  private last: Token | null = null;
  constructor(readonly target: OpenModel) {}

  /** Evaluates the context (untimed by callers): all of it but its last token, which the step's batch feeds first. */
  async prepare(contextText: string): Promise<void> {
    const context = tokensOf(this.target.model, contextText, true);
    await this.target.sequence.clearHistory();
    await this.target.sequence.evaluateWithoutGeneratingNewTokens(context.slice(0, -1));
    this.last = context.at(-1)!;
  }

  /** Reads the step in one batch after the prepared context. */
  async read(stepText: string): Promise<StepReading> {
    const step = tokensOf(this.target.model, stepText);
    const fed = [this.last!, ...step.slice(0, -1)];
    const results = await this.target.sequence.controlledEvaluate(
      fed.map((t, i) => [t, { generateNext: { logits: { filter: { tokens: [step[i]!], includeTop: 1 } }, totalLogitWeight: true } }]),
    );
    const reading: StepReading = { maxSurprisal: 0, meanSurprisal: 0, diverges: 0, targetTopAtDivergence: 0 };
    results.forEach((r, i) => {
      const logits = r?.next.logits;
      const total = r?.next.totalLogitWeight;
      if (!logits || total === undefined) throw new Error("the target returned no logits for a step position");
      const top = Math.max(...logits.values());
      const own = logits.get(step[i]!)!;
      // ln p = logit − max − ln Σ exp(logit − max); the top choice's p is 1 / Σ exp(logit − max).
      const surprisal = -(own - top - Math.log(total));
      reading.maxSurprisal = Math.max(reading.maxSurprisal, surprisal);
      reading.meanSurprisal += surprisal / step.length;
      if (own < top && reading.diverges === 0) {
        reading.diverges = 1;
        reading.targetTopAtDivergence = 1 / total;
      }
    });
    return reading;
  }
}
