import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { CommittedText } from "./committed-text.js";
import type { GeneratingSession } from "./generator.js";
import type { ModelRole, StepRecord } from "./types.js";

/**
 * One generating model (draft or target) and its own context sequence.
 *
 * KV-cache discipline: `tokens` is the committed text (prompt + committed steps) in this model's
 * tokenizer, and the sequence's cache always holds a prefix of it while idle. Text committed by
 * the other model is appended to `tokens` only (lazily) and enters the cache in one batch at the
 * start of this model's next evaluation. A candidate step that is not kept is erased from the
 * cache (the prefix is never re-evaluated). The newest committed token is usually "pending": it
 * was sampled but not yet evaluated, and it is the first token fed on the next call.
 */

export type StepEnd = StepRecord["endedBy"];

export interface CandidateStep {
  model: ModelRole;
  tokens: Token[];
  text: string;
  endedBy: StepEnd;
  /** Probability of each sampled token (only when asked for, e.g. by the confidence router). */
  confidences?: number[];
  /** Leading tokens taken over from the rejected draft step by prefix reuse. */
  reused: number;
  /** Draft tokens checked by the target but not kept (prefix reuse). */
  verifyWasted: number;
  ms: number;
}

export interface StepLimits {
  delimiter: string;
  maxTokens: number;
  temperature: number;
  seed?: number;
  signal?: AbortSignal;
  wantConfidences: boolean;
  onText?: (delta: string) => void;
  /** The answer's step this candidate is for (remote call records). */
  step?: number;
}

export interface SessionMeter {
  generated: number;
  evaluated: number;
  /** Evaluated tokens later erased (speculation that was not kept). */
  discarded: number;
  ms: number;
}

/** Greedy next token plus the top two logits (their gap tells how decisive the choice is); nothing vocabulary-sized. */
const GREEDY_NEXT = { generateNext: { token: true, logits: { filter: { tokens: [], includeTop: 2 } }, options: { temperature: 0 } } } as const;

export class ModelSession extends CommittedText implements GeneratingSession {
  /** The cache still holds the previous request's text (cleared lazily on first use). */
  private stale = true;
  meter: SessionMeter = { generated: 0, evaluated: 0, discarded: 0, ms: 0 };
  readonly remote = null;

  constructor(
    readonly role: ModelRole,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    readonly sequence: LlamaContextSequence,
    /**
     * Logit gap a batched prediction needs before prefix reuse trusts it: 0 where batches and
     * single tokens compute identically (F32 weights and KV, no flash attention), more on quantized kernels.
     */
    private readonly reuseMargin = 0,
  ) {
    super();
  }

  get contextSize(): number {
    return this.sequence.contextSize;
  }

  /** Starts a new answer: the cache is cleared so every request is independent of the previous one. */
  async reset(promptTokens: Token[]): Promise<void> {
    // The cache is cleared when this model next runs: a model the policy never asks costs nothing.
    this.stale = true;
    this.tokens = promptTokens.slice();
    this.candidateBase = -1;
    this.tentative = null;
    this.meter = { generated: 0, evaluated: 0, discarded: 0, ms: 0 };
  }

  /** Cache positions in use (0 when the cache still holds a previous request's text). */
  get cachedLength(): number {
    return this.stale ? 0 : this.sequence.nextTokenIndex;
  }

  /** The cache against the committed tokens: a prefix of them, missing at most the pending newest one. */
  cacheState(): { cached: number; committed: number; consistent: boolean } {
    const cached = this.sequence.contextTokens.slice(0, this.cachedLength);
    const committed = this.tokens;
    const consistent = cached.length <= committed.length && cached.every((t, i) => t === committed[i]);
    return { cached: cached.length, committed: committed.length, consistent };
  }

  /** Tokens to feed before generating: everything committed that the cache lacks (at least the pending token). */
  private async takeFeed(): Promise<Token[]> {
    if (this.stale) {
      await this.sequence.clearHistory();
      this.stale = false;
    }
    let cached = this.sequence.nextTokenIndex;
    if (cached >= this.tokens.length) {
      // Everything is cached, so the last token's logits are gone: re-feed just that token.
      await this.erase(this.tokens.length - 1, cached);
      cached = this.tokens.length - 1;
    }
    return this.tokens.slice(cached);
  }

  /** Erases cache positions [start, end); they count as evaluated-then-discarded. */
  private async erase(start: number, end: number): Promise<void> {
    if (end <= start) return;
    await this.sequence.eraseContextTokenRanges([{ start, end }]);
    this.meter.discarded += end - start;
  }

  /**
   * Generates one step from the committed text. When `reuseFrom` holds a rejected draft step
   * (same tokenizer), the target first checks it token by token in one batch, keeps the longest
   * prefix it would itself have produced greedily, and continues from the first disagreement —
   * so the result is exactly what it would have written alone.
   */
  async generateStep(limits: StepLimits, reuseFrom?: readonly Token[]): Promise<CandidateStep> {
    const started = performance.now();
    const feed = await this.takeFeed();
    this.candidateBase = this.tokens.length;
    const out: Token[] = [];
    const confidences: number[] = [];
    let text = "";
    let textTokens = 0;
    let endedBy: StepEnd | null = null;
    let reused = 0;
    let verifyWasted = 0;

    const accept = (token: Token, confidence?: number): boolean => {
      if (this.model.isEogToken(token)) {
        endedBy = "eos";
        return false;
      }
      out.push(token);
      if (confidence !== undefined) confidences.push(confidence);
      // Detokenise only the tokens not yet turned into text (a multi-byte character may span tokens).
      const piece = this.model.detokenize(out.slice(textTokens), false, out.slice(Math.max(0, textTokens - 4), textTokens));
      if (!piece.endsWith("\uFFFD")) {
        const from = Math.max(0, text.length - limits.delimiter.length + 1);
        text += piece;
        textTokens = out.length;
        if (piece.length > 0) limits.onText?.(piece);
        // A token may carry text past the delimiter; the step still ends with that token.
        if (text.indexOf(limits.delimiter, from) >= 0) endedBy = "delimiter";
      }
      if (endedBy !== null) return false;
      if (out.length >= limits.maxTokens) endedBy = "token-cap";
      else if (this.candidateBase + out.length >= this.contextSize - 1) endedBy = "context-full";
      else if (limits.signal?.aborted) endedBy = "cancelled";
      return endedBy === null;
    };

    if (this.candidateBase + 1 >= this.contextSize) {
      endedBy = "context-full";
    } else if (reuseFrom && reuseFrom.length > 0 && limits.temperature === 0) {
      const room = Math.max(0, this.contextSize - 1 - this.candidateBase);
      const draft = reuseFrom.slice(0, Math.min(reuseFrom.length, room, limits.maxTokens));
      // The catch-up is evaluated alone, exactly as without reuse, so `own` — this model's greedy token
      // for the next position — is its own. While it equals the draft's token, the draft's following
      // tokens are checked in one batch: the greedy prediction after each says whether this model
      // would have written the next one. A batch prediction counts only when it is decisive: quantized
      // kernels compute a batch with other numerics than one token at a time, and a near-tie can flip
      // between the two (ARCHITECTURE.md). At a near-tie the last kept token is evaluated again on its
      // own, which settles that position with one-token numerics, and the check goes on.
      let own = (await this.verify(feed, false))[0]!.token;
      let m = 0;
      let going = true;
      let checked = 0;
      let keptFromBatch = 0;
      while (going && m < draft.length && own === draft[m]) {
        going = accept(draft[m]!);
        m++; // draft[m - 1] is pending: accepted, not yet evaluated
        if (!going || m === draft.length) break;
        const predicted = await this.verify(draft.slice(m - 1, -1), true); // positions m .. draft.length - 1
        checked += predicted.length;
        let j = 0;
        while (going && j < predicted.length && predicted[j]!.token === draft[m + j] && predicted[j]!.margin > this.reuseMargin) {
          going = accept(draft[m + j]!);
          j++;
        }
        m += j;
        keptFromBatch += j;
        if (!going || m === draft.length) break;
        const next = predicted[j]!;
        if (next.margin > this.reuseMargin) {
          // A decisive disagreement: this model's own token (sampled, not yet evaluated).
          await this.erase(this.candidateBase + m, this.sequence.nextTokenIndex);
          own = next.token;
        } else {
          await this.erase(this.candidateBase + m - 1, this.sequence.nextTokenIndex);
          own = (await this.verify([draft[m - 1]!], false))[0]!.token;
        }
      }
      reused = out.length;
      verifyWasted = Math.max(0, checked - keptFromBatch);
      if (going) {
        if (m === draft.length) {
          // The whole draft step agreed; its last token is pending: continue after it.
          await this.continueGeneration([draft[m - 1]!], limits, accept);
        } else {
          this.meter.generated++;
          if (accept(own)) await this.continueGeneration([own], limits, accept);
        }
      }
    } else {
      await this.continueGeneration(feed, limits, accept);
    }

    // Keep the cache a prefix of committed + candidate (a cap or cancel can stop inside a checked prefix).
    const limit = this.candidateBase + out.length;
    if (this.sequence.nextTokenIndex > limit) await this.erase(limit, this.sequence.nextTokenIndex);

    this.meter.ms += performance.now() - started;
    return {
      model: this.role,
      tokens: out,
      text: this.model.detokenize(out),
      endedBy: endedBy ?? "token-cap",
      confidences: limits.wantConfidences ? confidences : undefined,
      reused,
      verifyWasted,
      ms: performance.now() - started,
    };
  }

  private async continueGeneration(feed: Token[], limits: StepLimits, accept: (token: Token, confidence?: number) => boolean): Promise<void> {
    const before = this.sequence.nextTokenIndex;
    const sampling = { temperature: limits.temperature, seed: limits.seed, yieldEogToken: true };
    // Per-token confidences only when a judge needs them; plain evaluation is cheaper.
    const iterator = limits.wantConfidences
      ? this.sequence.evaluateWithMetadata(feed, { confidence: true }, sampling)
      : this.sequence.evaluate(feed, sampling);
    try {
      for await (const item of iterator) {
        this.meter.generated++;
        const token = typeof item === "number" ? item : item.token;
        const confidence = typeof item === "number" ? undefined : item.confidence;
        if (!accept(token, confidence)) break;
      }
    } finally {
      await iterator.return(undefined);
      this.meter.evaluated += this.sequence.nextTokenIndex - before;
    }
  }

  /**
   * Evaluates tokens in one batch; returns this model's greedy next token and its logit margin over
   * the runner-up (how decisive the choice is) after each token, or only after the last one. Asking
   * for outputs at every position changes the batch's numerics on quantized kernels, so a catch-up
   * asks only at its end, exactly as plain generation does.
   */
  private async verify(tokens: readonly Token[], everyPosition: boolean): Promise<Array<{ token: Token; margin: number }>> {
    const started = this.sequence.nextTokenIndex;
    const last = tokens.length - 1;
    const results = await this.sequence.controlledEvaluate(tokens.map((t, i) => (everyPosition || i === last ? [t, GREEDY_NEXT] : t)));
    this.meter.evaluated += this.sequence.nextTokenIndex - started;
    const predicted: Array<{ token: Token; margin: number }> = [];
    for (const r of everyPosition ? results : results.slice(last)) {
      const token = r?.next.token;
      if (token === undefined || token === null) break;
      const top = [...(r!.next.logits?.values() ?? [])].sort((a, b) => b - a);
      predicted.push({ token, margin: top.length >= 2 ? top[0]! - top[1]! : Infinity });
    }
    return predicted;
  }

  /** Throws the open candidate away: its tokens leave the cache, the committed prefix stays. */
  async discardCandidate(): Promise<void> {
    this.checkOpen();
    const end = this.sequence.nextTokenIndex;
    await this.erase(this.candidateBase, end);
    this.candidateBase = -1;
  }
}
