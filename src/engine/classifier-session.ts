import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { CONFIDENCE_FEATURES } from "./calibration/logistic.js";
import { ArbitrageError } from "./errors.js";

/**
 * A GGUF model used as a classifier over (context, step): the embedded router and PRM.
 * The model reads `context + step + query` and the answer is read at the last position as
 * p = P(positive) / (P(positive) + P(negative)) = sigmoid(logit_pos − logit_neg), from two
 * logits only (no full probability map). The query and the two answer tokens come from the
 * file's own `arbitrage.classifier.*` metadata, and so does an optional logit offset
 * (`arbitrage.classifier.offset`, p = sigmoid(logit_pos − logit_neg + offset)): a calibration
 * fitted on the classifier's validation data that puts the default threshold at the operating
 * point its training chose (training/README.md); it shifts every score alike, so it changes no
 * ranking. A router file may also mix in the draft's token confidences (ClassifierSpec.confidence).
 *
 * Its sequence holds the committed context (all of it evaluated; a classifier needs no pending
 * token because each query starts with fresh tokens), so the context is evaluated once per
 * answer, not once per step. A query's step + query tokens stay in the sequence until the next
 * query: when the judged step is the one committed (most steps are), its tokens — and with the
 * embedded router's query "\n\n?", the delimiter too — are already evaluated, and the next query
 * erases only what differs (a common-prefix match, so a target-written step costs what it did).
 * Per query that saves the evaluation of one step's tokens, about a quarter of the router's time
 * (bench "router cost").
 */
export interface ClassifierSpec {
  query: string;
  positive: string;
  negative: string;
  /** Added to logit_pos − logit_neg (0 when the file has none). */
  offset: number;
  /**
   * The draft's token confidences as extra input (`arbitrage.classifier.logit_scale` and
   * `arbitrage.classifier.confidence.<feature>`, fitted by training/fit-router-mix.ts): the score of
   * a step that carries them is then sigmoid(scale · (logit_pos − logit_neg) + Σ weight · feature +
   * offset) over the confidence router's features of the step. The mix's offset is
   * `arbitrage.classifier.mix_offset` where the file has one (the PRM's: a step without confidences,
   * such as a target-written step the oracle scores, keeps the plain score and its own offset), else
   * the file's offset (the router's: it never judges a step without them). null: the logits alone.
   */
  confidence: { logitScale: number; weights: number[]; offset: number } | null;
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
  return { query, positive, negative, offset, confidence: confidenceMixFromMetadata(meta, path, offset) };
}

function confidenceMixFromMetadata(meta: Record<string, string>, path: string, offset: number): ClassifierSpec["confidence"] {
  const keys = CONFIDENCE_FEATURES.map((f) => `classifier.confidence.${f}`);
  const present = keys.filter((k) => meta[k] !== undefined);
  const scaleText = meta["classifier.logit_scale"];
  if (present.length === 0 && scaleText === undefined) return null;
  const mixOffsetText = meta["classifier.mix_offset"];
  const values = [scaleText, ...keys.map((k) => meta[k]), mixOffsetText].map((v) => (v === undefined ? NaN : Number(v)));
  if (mixOffsetText === undefined) values[values.length - 1] = offset;
  if (!values.every(Number.isFinite)) {
    throw new ArbitrageError(
      "model-corrupt",
      `Router/scorer model ${JSON.stringify(path)} has an incomplete or non-numeric confidence mix (arbitrage.classifier.logit_scale, arbitrage.classifier.confidence.{${CONFIDENCE_FEATURES.join(",")}} and, where present, arbitrage.classifier.mix_offset must all be numbers). Re-export it with training/export.py.`,
    );
  }
  return { logitScale: values[0]!, weights: values.slice(1, -1), offset: values.at(-1)! };
}

export class ClassifierSession {
  /** The committed context: what every query reads before its step. */
  private tokens: Token[] = [];
  /** The tokens the sequence holds now: the committed context, or a prefix of it, then the last query's. */
  private held: Token[] = [];
  /** The query's tokens after the delimiter, for steps read as token ids. */
  private queryRest: { delimiter: string; tokens: Token[] } | null = null;
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
    this.held = [];
    this.meter.calls = 0;
    this.meter.evaluated = 0;
    this.meter.ms = 0;
  }

  appendCommitted(tokens: readonly Token[]): void {
    this.tokens.push(...tokens);
  }

  /**
   * Probability of the positive class for `stepText` after the committed context. `stepTokens` are
   * the step's own token ids when the classifier shares the generators' vocabulary (as committed
   * steps already arrive): a step ending in the delimiter, with a query that starts with it, is then
   * read as those ids and the query's cached rest, without tokenising (a native call per step).
   */
  async classify(stepText: string, delimiter: string, stepTokens?: readonly Token[], features?: readonly number[]): Promise<number> {
    const started = performance.now();
    const query = this.queryTokens(stepText, delimiter, stepTokens);
    const room = this.sequence.contextSize - this.tokens.length;
    // A step too long for the router's window keeps only its tail (the query must stay last).
    const tail = query.length > room ? query.slice(query.length - Math.max(1, room)) : query;
    const wanted = this.tokens.concat(tail);
    // Keep what the sequence already holds of `wanted`, but always evaluate the last token: its logits are the answer.
    const kept = Math.min(commonPrefixLength(this.held, wanted), wanted.length - 1);
    if (kept < this.held.length) await this.sequence.eraseContextTokenRanges([{ start: kept, end: this.held.length }]);
    const input: Parameters<LlamaContextSequence["controlledEvaluate"]>[0] = wanted.slice(kept, -1);
    input.push([wanted[wanted.length - 1]!, { generateNext: { logits: { filter: { tokens: [this.positive, this.negative] } } } }]);
    this.held = wanted;
    let results: Awaited<ReturnType<LlamaContextSequence["controlledEvaluate"]>>;
    try {
      results = await this.sequence.controlledEvaluate(input);
    } catch (e) {
      // What the sequence holds after a failed evaluation is unknown: the next query starts from an empty one.
      this.held = [];
      await this.sequence.clearHistory();
      throw e;
    }
    this.meter.evaluated += input.length;
    const logits = results[input.length - 1]?.next.logits;
    const pos = logits?.get(this.positive);
    const neg = logits?.get(this.negative);
    this.meter.calls++;
    this.meter.ms += performance.now() - started;
    if (pos === undefined || neg === undefined)
      throw new ArbitrageError("internal", "The classifier model returned no logits for its answer tokens.");
    return 1 / (1 + Math.exp(-this.logit(pos - neg, features)));
  }

  /** The score's logit: the model's answer, with the step's confidence features where the file mixes them in and the step has them. */
  private logit(answer: number, features: readonly number[] | undefined): number {
    const mix = this.spec.confidence;
    if (!mix || !features) return answer + this.spec.offset;
    if (features.length !== mix.weights.length)
      throw new ArbitrageError("internal", "The step's confidence features do not match the classifier's mix.");
    return mix.logitScale * answer + mix.weights.reduce((sum, w, i) => sum + w * features[i]!, 0) + mix.offset;
  }

  private queryTokens(stepText: string, delimiter: string, stepTokens: readonly Token[] | undefined): Token[] {
    if (stepTokens && stepTokens.length > 0 && delimiter !== "" && stepText.endsWith(delimiter) && this.spec.query.startsWith(delimiter)) {
      if (this.queryRest?.delimiter !== delimiter) {
        const rest = this.spec.query.slice(delimiter.length);
        this.queryRest = { delimiter, tokens: rest === "" ? [] : this.model.tokenize(rest, false, "trimLeadingSpace") };
      }
      return stepTokens.concat(this.queryRest.tokens);
    }
    const body = stepText.endsWith(delimiter) ? stepText.slice(0, -delimiter.length) : stepText;
    return this.model.tokenize(body + this.spec.query, false, "trimLeadingSpace");
  }
}

function commonPrefixLength(a: readonly Token[], b: readonly Token[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function singleToken(model: LlamaModel, text: string): Token {
  const tokens = model.tokenize(text, false, "trimLeadingSpace");
  if (tokens.length !== 1) {
    throw new ArbitrageError("model-not-llm", `Classifier answer ${JSON.stringify(text)} is not a single token in this model's vocabulary.`);
  }
  return tokens[0]!;
}
