import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { CommittedText } from "./committed-text.js";
import { CallLog } from "./cost/call-log.js";
import { hasStepBoundary } from "./step-boundary.js";
import type { GeneratingSession } from "./generator.js";
import type { CandidateStep, SessionMeter, StepEnd, StepLimits, TokenProposer, TokenSpeculation, VerificationStats } from "./step.js";
import type { ModelRole } from "./types.js";

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

interface VerificationCounts extends VerificationStats {
  wasted: number;
  proposeMs: number;
}

/** Greedy next token plus the top two logits (their gap tells how decisive the choice is); nothing vocabulary-sized. */
const GREEDY_NEXT = { generateNext: { token: true, logits: { filter: { tokens: [], includeTop: 2 } }, options: { temperature: 0 } } } as const;

export class ModelSession extends CommittedText implements GeneratingSession {
  /** The cache still holds the previous request's text (cleared lazily on first use). */
  private stale = true;
  /** The cache past the committed text is proposal scratch (see `propose`). */
  private proposing = false;
  /** Cache positions past the committed text kept by `settleProposals`: the start of text about to be appended. */
  private ahead: Token[] = [];
  meter: SessionMeter = { generated: 0, evaluated: 0, discarded: 0, ms: 0 };
  /** Every llama.cpp call of this model since it was loaded, timed by its batch size (the cost model's data). */
  readonly calls = new CallLog();
  readonly remote = null;
  /** This model can check proposals in one batch and propose tokens itself (token-level speculation). */
  readonly proposer: TokenProposer = this;
  readonly verifiesInBatch = true;

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
    this.proposing = false;
    this.ahead = [];
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
   * Generates one step from the committed text, exactly as this model would write it alone
   * (greedy). Two sources of proposals can make it cheaper, both checked by `verifyRound`:
   * `reuseFrom`, a rejected draft step (same tokenizer) whose agreeing prefix is kept (prefix
   * reuse), and `speculation`, a proposer model asked for up to `maxTokens` fresh tokens each
   * round (token-level speculative decoding). Each round keeps the agreeing prefix of a proposal
   * plus this model's own next token; without proposals (or at temperature > 0) it generates
   * token by token.
   */
  async generateStep(limits: StepLimits, reuseFrom?: readonly Token[], speculation?: TokenSpeculation): Promise<CandidateStep> {
    const started = performance.now();
    const feed = await this.takeFeed();
    this.candidateBase = this.tokens.length;
    const out: Token[] = [];
    const confidences: number[] = [];
    let text = "";
    let textTokens = 0;
    let endedBy: StepEnd | null = null;
    const verification: VerificationCounts = { rounds: 0, proposed: 0, accepted: 0, freshProposed: 0, freshAccepted: 0, wasted: 0, proposeMs: 0 };

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
        if (hasStepBoundary(text, limits.delimiter, from)) endedBy = "delimiter";
      }
      if (endedBy !== null) return false;
      if (out.length >= limits.maxTokens) endedBy = "token-cap";
      else if (this.candidateBase + out.length >= this.contextSize - 1) endedBy = "context-full";
      else if (limits.signal?.aborted) endedBy = "cancelled";
      return endedBy === null;
    };

    const reuse = reuseFrom && reuseFrom.length > 0 ? reuseFrom : undefined;
    // The next proposal for the text written so far: the rest of the rejected draft step while the
    // text still follows it, then (token-level speculation) the proposer's greedy continuation.
    const followsReuse = (written: readonly Token[]) =>
      reuse !== undefined && reuse.length > written.length && written.every((t, i) => reuse[i] === t);
    const nextProposal = async (written: readonly Token[]): Promise<{ tokens: Token[]; fresh: boolean }> => {
      if (followsReuse(written)) return { tokens: reuse!.slice(written.length), fresh: false };
      if (!speculation) return { tokens: [], fresh: false };
      const t0 = performance.now();
      const tokens = await speculation.proposer.propose(written, speculation.maxTokens, limits.delimiter);
      verification.proposeMs += performance.now() - t0;
      return { tokens, fresh: true };
    };

    if (this.candidateBase + 1 >= this.contextSize) {
      endedBy = "context-full";
    } else if ((reuse || speculation) && limits.temperature === 0) {
      // Where a batch computes exactly as one token at a time (margin 0), the catch-up is the first
      // round's batch prefix: one target call fewer per step. Elsewhere it is evaluated alone, its
      // output at the last position only, exactly as plain generation, so the first token is this model's own.
      const first = this.reuseMargin === 0 ? await nextProposal([]) : { tokens: [], fresh: false };
      const firstProposal = first.tokens.slice(0, Math.min(limits.maxTokens, this.contextSize - 1 - this.candidateBase));
      let own: Token | null =
        firstProposal.length > 0
          ? await this.verifyRound(out, feed, firstProposal, first.fresh, accept, verification)
          : (await this.verify(feed, feed.length - 1))[0]!.token;
      while (own !== null) {
        // A token that equals the rejected draft step's at its place counts as reused, not generated (as without a batch).
        if (!(followsReuse(out) && reuse![out.length] === own)) this.meter.generated++;
        if (!accept(own)) break;
        const room = Math.min(limits.maxTokens - out.length, this.contextSize - 1 - (this.candidateBase + out.length));
        const { tokens, fresh } = await nextProposal(out);
        const proposal = tokens.slice(0, room);
        if (proposal.length === 0) {
          await this.continueGeneration([out.at(-1)!], limits, accept);
          break;
        }
        own = await this.verifyRound(out, [out.at(-1)!], proposal, fresh, accept, verification);
      }
    } else {
      await this.continueGeneration(feed, limits, accept);
    }

    // Keep the cache a prefix of committed + candidate (a cap or cancel can stop inside a checked prefix).
    const limit = this.candidateBase + out.length;
    if (this.sequence.nextTokenIndex > limit) await this.erase(limit, this.sequence.nextTokenIndex);

    // The proposer's time is its own (its meter has it); this model's meter keeps only its evaluations.
    this.meter.ms += performance.now() - started - verification.proposeMs;
    let reused = 0;
    while (reuse && reused < out.length && reused < reuse.length && out[reused] === reuse[reused]) reused++;
    return {
      model: this.role,
      tokens: out,
      text: this.model.detokenize(out),
      endedBy: endedBy ?? "token-cap",
      confidences: limits.wantConfidences ? confidences : undefined,
      reused,
      verifyWasted: verification.wasted,
      verification: {
        rounds: verification.rounds,
        proposed: verification.proposed,
        accepted: verification.accepted,
        freshProposed: verification.freshProposed,
        freshAccepted: verification.freshAccepted,
      },
      ms: performance.now() - started,
    };
  }

  /**
   * One round of verification, the piece prefix reuse and token-level speculation share. The
   * pending token (the newest accepted, not yet evaluated; in a step's first round on exact
   * kernels, the whole catch-up) and the proposal go through this model in ONE batch; the greedy prediction after each position says whether this model would have
   * written the next proposal token. The agreeing prefix is accepted; the prediction after it is
   * this model's own next token (returned, not yet accepted), and the rest of the proposal leaves
   * the cache. A batch prediction counts only when it is decisive: quantized kernels compute a
   * batch with other numerics than one token at a time, and a near-tie can flip between the two
   * (ARCHITECTURE.md). At a near-tie the last kept token is evaluated again on its own, which
   * settles that position with one-token numerics. Returns null when the step ended inside the round.
   */
  private async verifyRound(
    out: Token[],
    prefix: readonly Token[],
    proposal: readonly Token[],
    fresh: boolean,
    accept: (token: Token) => boolean,
    counts: VerificationCounts,
  ): Promise<Token | null> {
    const predicted = await this.verify([...prefix, ...proposal], prefix.length - 1);
    counts.rounds++;
    counts.proposed += proposal.length;
    let j = 0;
    let going = true;
    while (going && j < proposal.length && predicted[j]?.token === proposal[j] && predicted[j]!.margin > this.reuseMargin) {
      going = accept(proposal[j]!);
      j++;
    }
    counts.accepted += j;
    if (fresh) {
      counts.freshProposed += proposal.length;
      counts.freshAccepted += j;
    }
    counts.wasted += proposal.length - j;
    if (!going) return null;
    const next = predicted[j];
    if (next && next.margin > this.reuseMargin) {
      await this.erase(this.candidateBase + out.length, this.sequence.nextTokenIndex);
      return next.token;
    }
    // The last kept token: the newest accepted one, or (nothing accepted in a first round) the newest committed one.
    const last = out.at(-1) ?? this.tokens.at(-1)!;
    await this.erase(this.candidateBase + out.length - 1, this.sequence.nextTokenIndex);
    return (await this.verify([last], 0))[0]!.token;
  }

  /**
   * Token-level speculation's proposer side: up to `max` tokens this model writes greedily after
   * its committed text followed by `written` (the other model's step so far, same tokenizer).
   * Cache positions past the committed text are scratch while the other model writes: what still
   * agrees with `written` is kept, the rest (rejected proposals, or this model's own rejected
   * step) is erased, and only what the cache lacks is fed. `settleProposals` ends the scratch.
   */
  async propose(written: readonly Token[], max: number, delimiter: string): Promise<Token[]> {
    const started = performance.now();
    if (this.stale) {
      await this.sequence.clearHistory();
      this.stale = false;
    }
    this.proposing = true;
    const full = this.tokens.concat(written);
    const cachedEnd = this.sequence.nextTokenIndex;
    const cached = this.sequence.contextTokens;
    // The committed text is a prefix of the cache (or the cache of it); compare only the scratch after it.
    let keep = Math.min(cachedEnd, this.tokens.length);
    while (keep < cachedEnd && keep < full.length && cached[keep] === full[keep]) keep++;
    // The newest token must be fed for its logits.
    keep = Math.min(keep, full.length - 1);
    await this.erase(keep, cachedEnd);
    const limit = Math.min(max, this.contextSize - 1 - full.length);
    const proposal: Token[] = [];
    if (limit > 0) {
      const before = this.sequence.nextTokenIndex;
      const iterator = this.timedTokens(this.sequence.evaluate(full.slice(keep), { temperature: 0, yieldEogToken: true }), full.length - keep);
      try {
        for await (const token of iterator) {
          this.meter.generated++;
          proposal.push(token);
          // Past the step's end a proposal is wasted work: stop at end-of-generation or the delimiter.
          if (proposal.length >= limit || this.model.isEogToken(token)) break;
          if (this.model.detokenize(written.slice(-2).concat(proposal)).includes(delimiter)) break;
        }
      } finally {
        await iterator.return(undefined);
        this.meter.evaluated += this.sequence.nextTokenIndex - before;
      }
    }
    this.meter.ms += performance.now() - started;
    return proposal;
  }

  /**
   * Ends the scratch of `propose`: the cache keeps what agrees with `kept` (the other model's step,
   * about to be appended here as committed text) and erases the rest; null (the step was not
   * kept) erases it all. The cache is then a prefix of the committed text again.
   */
  async settleProposals(kept: readonly Token[] | null): Promise<void> {
    if (!this.proposing) return;
    this.proposing = false;
    const base = this.tokens.length;
    const end = this.sequence.nextTokenIndex;
    const cached = this.sequence.contextTokens;
    let agree = 0;
    while (kept && base + agree < end && agree < kept.length && cached[base + agree] === kept[agree]) agree++;
    await this.erase(base + agree, end);
    this.ahead = kept ? kept.slice(0, agree) : [];
  }

  /** Proposals overwrite the open candidate's cache positions: only a rejected candidate may be open while this model proposes. */
  override commitCandidate(step: CandidateStep): void {
    if (this.proposing) throw new Error(`${this.role}: a candidate cannot be kept after proposals overwrote its cache`);
    super.commitCandidate(step);
  }

  /** Committed text from the other model; the cache may already hold its start (kept by `settleProposals`). */
  override appendCommitted(tokens: readonly Token[]): void {
    const ahead = this.ahead;
    this.ahead = [];
    if (ahead.some((t, i) => tokens[i] !== t)) throw new Error(`${this.role}: the cache holds text that is not being committed`);
    super.appendCommitted(tokens);
  }

  private async continueGeneration(feed: Token[], limits: StepLimits, accept: (token: Token, confidence?: number) => boolean): Promise<void> {
    const before = this.sequence.nextTokenIndex;
    const sampling = { temperature: limits.temperature, seed: limits.seed, yieldEogToken: true };
    // Per-token confidences only when a judge needs them; plain evaluation is cheaper.
    const iterator = this.timedTokens<Token | { token: Token; confidence?: number }>(
      limits.wantConfidences ? this.sequence.evaluateWithMetadata(feed, { confidence: true }, sampling) : this.sequence.evaluate(feed, sampling),
      feed.length,
    );
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
   * the runner-up (how decisive the choice is) after each token from index `outputsFrom` on. Asking
   * for outputs at more positions changes the batch's numerics on quantized kernels, so there a
   * catch-up asks only at its end, exactly as plain generation does.
   */
  private async verify(tokens: readonly Token[], outputsFrom: number): Promise<Array<{ token: Token; margin: number }>> {
    const started = this.sequence.nextTokenIndex;
    const t0 = performance.now();
    const results = await this.sequence.controlledEvaluate(tokens.map((t, i) => (i >= outputsFrom ? [t, GREEDY_NEXT] : t)));
    this.calls.record(tokens.length, performance.now() - t0);
    this.meter.evaluated += this.sequence.nextTokenIndex - started;
    const predicted: Array<{ token: Token; margin: number }> = [];
    for (const r of results.slice(outputsFrom)) {
      const token = r?.next.token;
      if (token === undefined || token === null) break;
      const top = [...(r!.next.logits?.values() ?? [])].sort((a, b) => b - a);
      predicted.push({ token, margin: top.length >= 2 ? top[0]! - top[1]! : Infinity });
    }
    return predicted;
  }

  /**
   * node-llama-cpp's token iterator with each call timed into `calls`: the first evaluates the
   * whole feed (`firstBatch` tokens), each later one the previous token alone. Only the time spent
   * waiting for the model counts, not the consumer's work between tokens.
   */
  private async *timedTokens<T>(
    iterator: AsyncGenerator<T, void, never>,
    firstBatch: number,
    log: Pick<CallLog, "record"> = this.calls,
  ): AsyncGenerator<T, void, unknown> {
    let batch = firstBatch;
    try {
      for (;;) {
        const t0 = performance.now();
        const item = await iterator.next();
        if (item.done) return;
        log.record(batch, performance.now() - t0);
        batch = 1;
        yield item.value;
      }
    } finally {
      await iterator.return(undefined);
    }
  }

  /**
   * Measures this model's call costs when no request has yet: a batch of `sample` and a few
   * decoded tokens after it, once untimed (pages the weights in and lets llama.cpp allocate its
   * graphs for both shapes) and once timed. The cache is cleared before the next request as after
   * any other.
   */
  async measureCost(sample: readonly Token[], decodeTokens = 6): Promise<void> {
    this.stale = true;
    const timed: Array<{ tokens: number; ms: number }> = [];
    const pass = async (keep: boolean) => {
      await this.sequence.clearHistory();
      const tokens = this.sequence.evaluate(sample.slice(), { temperature: 0, yieldEogToken: true });
      let left = decodeTokens + 1;
      const log = { record: (n: number, ms: number) => keep && timed.push({ tokens: n, ms }) };
      for await (const token of this.timedTokens(tokens, sample.length, log)) {
        if (--left <= 0 || this.model.isEogToken(token)) break;
      }
    };
    try {
      await pass(false);
      await pass(true);
    } finally {
      await this.sequence.clearHistory();
    }
    // The median decode: one stall of the machine must not set the figure for the whole session.
    const decodes = timed.filter((c) => c.tokens === 1).map((c) => c.ms);
    const median = decodes.sort((a, b) => a - b)[Math.floor(decodes.length / 2)];
    for (const c of timed) this.calls.record(c.tokens, c.tokens === 1 ? median! : c.ms);
  }

  /** Throws the open candidate away: its tokens leave the cache, the committed prefix stays. */
  async discardCandidate(): Promise<void> {
    this.checkOpen();
    // Proposals took over the candidate's cache positions: `settleProposals` decides what stays.
    if (!this.proposing) await this.erase(this.candidateBase, this.sequence.nextTokenIndex);
    this.candidateBase = -1;
  }
}
