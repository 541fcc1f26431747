import type { LlamaModel, Token } from "node-llama-cpp";
import { CommittedText } from "../committed-text.js";
import type { GeneratingSession } from "../generator.js";
import type { CandidateStep, SessionMeter, StepLimits } from "../step.js";
import type { ModelRole, RemoteMeter } from "../types.js";
import { streamCompletion } from "./completions.js";
import type { RemoteEndpoint } from "./endpoint.js";

/**
 * A generating model on a serving engine. The committed text is kept here as token ids in the
 * model's own tokenizer (from a local copy of its GGUF, loaded vocabulary-only), and every step
 * sends all of it as the prompt: the server's prefix cache keeps the KV of what it saw before, so
 * it evaluates only the new tail (measured per call in `remote.perCall[].processed`). Nothing is
 * erased remotely: a discarded candidate only diverges from the next prompt, and the server's
 * cache drops it on its own. Prefix reuse (checking a rejected draft step in one batch) needs the
 * model's logits at every position, which these APIs do not give, so a remote target writes its
 * step itself, and for the same reason token-level speculation is off with a remote model (a
 * remote draft cannot propose token by token at a useful latency either).
 */
export class RemoteSession extends CommittedText implements GeneratingSession {
  meter: SessionMeter = { generated: 0, evaluated: 0, discarded: 0, ms: 0 };
  remote: RemoteMeter;
  readonly verifiesInBatch = false;
  readonly proposer = null;

  constructor(
    readonly role: ModelRole,
    /** The model's vocabulary (tokenize/detokenize, end-of-generation tokens); no weights. */
    readonly vocab: LlamaModel,
    readonly endpoint: RemoteEndpoint,
    readonly contextSize: number,
  ) {
    super();
    this.remote = this.freshRemoteMeter();
  }

  private freshRemoteMeter(): RemoteMeter {
    return {
      url: this.endpoint.http.baseUrl,
      calls: 0,
      ms: 0,
      promptTokens: 0,
      promptTokensProcessed: 0,
      completionTokens: 0,
      tokensSaved: 0,
      perCall: [],
    };
  }

  async reset(promptTokens: Token[]): Promise<void> {
    this.tokens = promptTokens.slice();
    this.candidateBase = -1;
    this.tentative = null;
    this.meter = { generated: 0, evaluated: 0, discarded: 0, ms: 0 };
    this.remote = this.freshRemoteMeter();
  }

  /** The server holds no state this client must keep consistent: its prefix cache matches whatever prompt comes next. */
  cacheState(): { cached: number; committed: number; consistent: boolean } {
    return { cached: 0, committed: this.tokens.length, consistent: true };
  }

  async generateStep(limits: StepLimits): Promise<CandidateStep> {
    const started = performance.now();
    this.candidateBase = this.tokens.length;
    const room = this.contextSize - 1 - this.candidateBase;
    const empty = (endedBy: CandidateStep["endedBy"]): CandidateStep => ({
      model: this.role,
      tokens: [],
      text: "",
      endedBy,
      confidences: limits.wantConfidences ? [] : undefined,
      reused: 0,
      verifyWasted: 0,
      verification: { rounds: 0, proposed: 0, accepted: 0, freshProposed: 0, freshAccepted: 0 },
      ms: 0,
    });
    if (room <= 0) return empty("context-full");
    if (limits.signal?.aborted) return empty("cancelled");
    const maxTokens = Math.min(limits.maxTokens, room);
    const answer = await streamCompletion(this.endpoint.http, this.endpoint.dialect, {
      model: this.endpoint.model,
      prompt: this.tokens,
      maxTokens,
      delimiter: limits.delimiter,
      temperature: limits.temperature,
      seed: limits.seed,
      wantConfidences: limits.wantConfidences,
      signal: limits.signal,
      onText: limits.onText,
    });
    const ms = performance.now() - started;
    // Token ids as the server sampled them when it says (llama-server), else the text in the local tokenizer.
    // An end-of-generation token is not part of the step (nor is its probability), as in a local step.
    const kept = answer.tokens?.map((t) => !this.vocab.isEogToken(t));
    const tokens = answer.tokens ? answer.tokens.filter((_, i) => kept![i]) : this.vocab.tokenize(answer.text, false, "trimLeadingSpace");
    const confidences = kept && answer.confidences.length === kept.length ? answer.confidences.filter((_, i) => kept[i]) : answer.confidences;
    const text = answer.tokens ? this.vocab.detokenize(tokens) : answer.text;
    const endedBy: CandidateStep["endedBy"] =
      answer.endedBy === "limit" ? (tokens.length >= limits.maxTokens ? "token-cap" : "context-full") : answer.endedBy;

    this.meter.generated += answer.completionTokens;
    this.meter.evaluated += (answer.processed ?? this.tokens.length) + answer.completionTokens;
    this.meter.ms += ms;
    this.remote.calls++;
    this.remote.ms += ms;
    this.remote.promptTokens += this.tokens.length;
    this.remote.promptTokensProcessed += answer.processed ?? 0;
    this.remote.completionTokens += answer.completionTokens;
    this.remote.perCall.push({
      step: limits.step ?? -1,
      ms,
      promptTokens: this.tokens.length,
      processed: answer.processed,
      completionTokens: answer.completionTokens,
    });
    return {
      model: this.role,
      tokens,
      text,
      endedBy,
      confidences: limits.wantConfidences ? confidences : undefined,
      reused: 0,
      verifyWasted: 0,
      verification: { rounds: 0, proposed: 0, accepted: 0, freshProposed: 0, freshAccepted: 0 },
      ms,
    };
  }

  async discardCandidate(): Promise<void> {
    this.checkOpen();
    this.candidateBase = -1;
  }
}
