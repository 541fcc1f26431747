import type { Token } from "node-llama-cpp";
import type { CandidateStep } from "./step.js";
import type { ModelRole } from "./types.js";

/**
 * The committed text of one generating model and the fate of its open candidate step, the same
 * for a model run here (ModelSession) and one on a server (RemoteSession): `tokens` is the
 * committed text in the model's tokenizer; a candidate opens at `candidateBase` and is committed,
 * committed tentatively (while it is judged, see DraftLookahead) or discarded.
 */
export abstract class CommittedText {
  protected tokens: Token[] = [];
  /** A step committed provisionally while it is being judged. */
  protected tentative: CandidateStep | null = null;
  /** Length of the committed prefix when the current candidate started (candidate tokens follow it in the cache). */
  protected candidateBase = -1;

  abstract readonly role: ModelRole;
  abstract readonly contextSize: number;

  get committedTokens(): readonly Token[] {
    return this.tokens;
  }

  /** Room left for new tokens in this sequence. */
  roomLeft(): number {
    return this.contextSize - this.tokens.length;
  }

  /** Appends committed text written by another model; it is evaluated lazily. */
  appendCommitted(tokens: readonly Token[]): void {
    if (this.candidateBase >= 0) throw new Error(`${this.role}: append while a candidate is open`);
    this.tokens.push(...tokens);
  }

  /** Keeps the open candidate as committed text (a tentatively committed step just stays). */
  commitCandidate(step: CandidateStep): void {
    if (step === this.tentative) {
      this.tentative = null;
      return;
    }
    this.checkOpen();
    this.tokens.push(...step.tokens);
    this.candidateBase = -1;
  }

  /** Commits the open candidate provisionally, so a next step can be written behind it (see DraftLookahead). */
  commitTentatively(step: CandidateStep): void {
    this.commitCandidate(step);
    this.tentative = step;
  }

  /** Undoes a tentative commit: the step becomes the open candidate again (to be committed or discarded). */
  reopenTentative(): void {
    const step = this.tentative;
    if (!step) return;
    if (this.candidateBase >= 0) throw new Error(`${this.role}: reopen while a candidate is open`);
    this.tokens.length -= step.tokens.length;
    this.candidateBase = this.tokens.length;
    this.tentative = null;
  }

  protected checkOpen(): void {
    if (this.candidateBase < 0) throw new Error(`${this.role}: no open candidate step`);
  }
}
