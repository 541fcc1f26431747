/**
 * One candidate step and the knobs of writing it: the types the step loop, both generating
 * sessions (local and remote), the judges and the policies share. In a file of their own so that
 * the interface (generator.ts) and its implementations import them without importing each other.
 */
import type { Token } from "node-llama-cpp";
import type { ModelRole, StepRecord } from "./types.js";

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
  /** Proposed tokens (rejected draft step, fresh draft proposals) checked by the target but not kept. */
  verifyWasted: number;
  /** Batch verification: rounds (one target batch each), proposal tokens checked and kept, of them fresh draft proposals. */
  verification: VerificationStats;
  ms: number;
}

/** Token-level speculation for one step: who proposes, and at most how many tokens per round. */
export interface TokenSpeculation {
  proposer: TokenProposer;
  maxTokens: number;
}

/** A model that proposes tokens for the other model to check (a local session of the same tokenizer). */
export interface TokenProposer {
  propose(written: readonly Token[], max: number, delimiter: string): Promise<Token[]>;
  settleProposals(kept: readonly Token[] | null): Promise<void>;
}

export interface VerificationStats {
  rounds: number;
  proposed: number;
  accepted: number;
  freshProposed: number;
  freshAccepted: number;
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
