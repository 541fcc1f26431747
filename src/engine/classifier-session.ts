import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { ArbitrageError } from "./errors.js";

/**
 * A GGUF model used as a classifier over (context, step): the embedded router and PRM.
 * The model reads `context + step + query` and the answer is read at the last position as
 * p = P(positive) / (P(positive) + P(negative)) = sigmoid(logit_pos − logit_neg), from two
 * logits only (no full probability map). The query and the two answer tokens come from the
 * file's own `arbitrage.classifier.*` metadata, and so does an optional logit offset
 * (`arbitrage.classifier.offset`, p = sigmoid(logit_pos − logit_neg + offset)): a calibration
 * fitted on the classifier's validation data that puts the default threshold at the operating
 * point its training chose (training/README.md); it shifts every score alike, so it changes no ranking.
 *
 * Its sequence holds the committed context (all of it evaluated; a classifier needs no pending
 * token because each query starts with fresh tokens). Each query's step + query tokens are
 * erased afterwards, so the context is evaluated once per answer, not once per step.
 */
export interface ClassifierSpec {
  query: string;
  positive: string;
  negative: string;
  /** Added to logit_pos − logit_neg (0 when the file has none). */
  offset: number;
}

export function classifierSpecFromMetadata(meta: Record<string, string>, path: string): ClassifierSpec {
  const query = meta["classifier.query"];
  const positive = meta["classifier.positive"];
  const negative = meta["classifier.negative"];
  if (query === undefined || !positive || !negative) {
    throw new ArbitrageError(
      "model-not-llm",
      `Router/scorer model ${JSON.stringify(path)} has no arbitrage.classifier.query/positive/negative metadata, so it cannot be read as a step classifier. Use "confidence" as the router, or a router GGUF trained by training/build_all.sh.`,
    );
  }
  const offsetText = meta["classifier.offset"];
  const offset = offsetText === undefined ? 0 : Number(offsetText);
  if (!Number.isFinite(offset)) {
    throw new ArbitrageError(
      "model-corrupt",
      `Router/scorer model ${JSON.stringify(path)} has arbitrage.classifier.offset = ${JSON.stringify(offsetText)}, which is not a number. Re-export it with training/export.py.`,
    );
  }
  return { query, positive, negative, offset };
}

export class ClassifierSession {
  private tokens: Token[] = [];
  private readonly positive: Token;
  private readonly negative: Token;
  readonly meter = { calls: 0, evaluated: 0, ms: 0 };

  constructor(
    readonly model: LlamaModel,
    readonly sequence: LlamaContextSequence,
    readonly spec: ClassifierSpec,
  ) {
    this.positive = singleToken(model, spec.positive);
    this.negative = singleToken(model, spec.negative);
  }

  async reset(promptTokens: Token[]): Promise<void> {
    await this.sequence.clearHistory();
    this.tokens = promptTokens.slice();
    this.meter.calls = 0;
    this.meter.evaluated = 0;
    this.meter.ms = 0;
  }

  appendCommitted(tokens: readonly Token[]): void {
    this.tokens.push(...tokens);
  }

  /** Probability of the positive class for `stepText` after the committed context. */
  async classify(stepText: string, delimiter: string): Promise<number> {
    const started = performance.now();
    const body = stepText.endsWith(delimiter) ? stepText.slice(0, -delimiter.length) : stepText;
    const query = this.model.tokenize(body + this.spec.query, false, "trimLeadingSpace");
    const cached = this.sequence.nextTokenIndex;
    const feed = this.tokens.slice(cached);
    const room = this.sequence.contextSize - this.tokens.length;
    // A step too long for the router's window keeps only its tail (the query must stay last).
    const tail = query.length > room ? query.slice(query.length - Math.max(1, room)) : query;
    const input: Parameters<LlamaContextSequence["controlledEvaluate"]>[0] = [...feed, ...tail.slice(0, -1)];
    input.push([tail[tail.length - 1]!, { generateNext: { logits: { filter: { tokens: [this.positive, this.negative] } } } }]);
    const results = await this.sequence.controlledEvaluate(input);
    this.meter.evaluated += this.sequence.nextTokenIndex - cached;
    const logits = results[input.length - 1]?.next.logits;
    const pos = logits?.get(this.positive);
    const neg = logits?.get(this.negative);
    await this.sequence.eraseContextTokenRanges([{ start: this.tokens.length, end: this.sequence.nextTokenIndex }]);
    this.meter.calls++;
    this.meter.ms += performance.now() - started;
    if (pos === undefined || neg === undefined)
      throw new ArbitrageError("internal", "The classifier model returned no logits for its answer tokens.");
    return 1 / (1 + Math.exp(neg - pos - this.spec.offset));
  }
}

function singleToken(model: LlamaModel, text: string): Token {
  const tokens = model.tokenize(text, false, "trimLeadingSpace");
  if (tokens.length !== 1) {
    throw new ArbitrageError("model-not-llm", `Classifier answer ${JSON.stringify(text)} is not a single token in this model's vocabulary.`);
  }
  return tokens[0]!;
}
