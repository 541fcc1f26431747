import type { Token } from "node-llama-cpp";
import type { CandidateStep, SessionMeter, StepLimits, TokenProposer, TokenSpeculation } from "./step.js";
import type { ModelRole, RemoteMeter } from "./types.js";

/**
 * What the step loop needs from a generating model (draft or target): the committed text in this
 * model's tokens, one candidate step at a time, and the candidate's fate (committed, committed
 * tentatively while it is judged, or discarded). `ModelSession` runs the model here in
 * node-llama-cpp; `RemoteSession` (remote/remote-session.ts) runs it on a serving engine over HTTP.
 * The loop, the policies, speculation and the stats see only this interface.
 */
export interface GeneratingSession {
  readonly role: ModelRole;
  readonly contextSize: number;
  /** Committed text (prompt + committed steps) in this model's tokenizer. */
  readonly committedTokens: readonly Token[];
  readonly meter: SessionMeter;
  /** Calls to a serving engine (null for a local model). */
  readonly remote: RemoteMeter | null;
  /** Starts a new answer from its prompt; nothing of the previous request is reused. */
  reset(promptTokens: Token[]): Promise<void>;
  /** Appends committed text written by another model. */
  appendCommitted(tokens: readonly Token[]): void;
  roomLeft(): number;
  /**
   * Writes one candidate step after the committed text; `reuseFrom` is a rejected draft step the
   * model may check first, `speculation` a proposer whose tokens it checks in batches (only where
   * `verifiesInBatch`).
   */
  generateStep(limits: StepLimits, reuseFrom?: readonly Token[], speculation?: TokenSpeculation): Promise<CandidateStep>;
  /** Whether this model checks proposed tokens in one batch (a local model; a server only writes). */
  readonly verifiesInBatch: boolean;
  /** This model as a proposer of tokens for the other one to check (null: it cannot, e.g. on a server). */
  readonly proposer: TokenProposer | null;
  commitCandidate(step: CandidateStep): void;
  commitTentatively(step: CandidateStep): void;
  reopenTentative(): void;
  discardCandidate(): Promise<void>;
  /** Whether what the model holds (its KV cache) is a prefix of the committed tokens. */
  cacheState(): { cached: number; committed: number; consistent: boolean };
}
