import type { GeneratingSession } from "./generator.js";
import type { CandidateStep, StepLimits } from "./step.js";
import type { EngineEvent } from "./types.js";

/**
 * Writes the next draft step while the current one is being judged (router or PRM), so the
 * judge is off the critical path whenever the draft step is kept — the common case. The judged
 * step is committed tentatively in the draft's cache and the next step is generated behind it,
 * on another core (each context has its own threads). If the judge rejects the step, the
 * speculative step is stopped and erased and the judged step is reopened as a candidate, so the
 * caches end exactly as without the lookahead; outputs never change, only latency.
 * Events of the speculative step are held back until the engine adopts it.
 */
export class DraftLookahead {
  private current: {
    index: number;
    abort: AbortController;
    promise: Promise<CandidateStep>;
    held: EngineEvent[] | null;
    startedAt: number;
    endedAt: number;
  } | null = null;
  /** Draft tokens written speculatively and thrown away. */
  discardedTokens = 0;

  constructor(
    private readonly session: GeneratingSession,
    private readonly emit: (e: EngineEvent) => void,
    private readonly time: <T>(work: Promise<T>) => Promise<T>,
  ) {}

  /** Commits `judged` tentatively and starts writing step `index` behind it. */
  start(judged: CandidateStep, index: number, limits: StepLimits, requestSignal: AbortSignal | undefined): void {
    this.session.commitTentatively(judged);
    const abort = new AbortController();
    const held: EngineEvent[] = [{ type: "step-started", index, model: "draft" }];
    const spec = {
      index,
      abort,
      held: held as EngineEvent[] | null,
      promise: Promise.resolve(null as unknown as CandidateStep),
      startedAt: performance.now(),
      endedAt: Infinity,
    };
    const release = (e: EngineEvent) => (spec.held ? spec.held.push(e) : this.emit(e));
    spec.promise = this.time(
      this.session.generateStep({
        ...limits,
        signal: requestSignal ? AbortSignal.any([requestSignal, abort.signal]) : abort.signal,
        onText: (text) => release({ type: "token", index, model: "draft", text }),
      }),
    ).finally(() => (spec.endedAt = performance.now()));
    this.current = spec;
  }

  /**
   * The step speculation wrote for `index`, adopted by the engine (its held events are replayed
   * first), with the interval during which it was written (what judging overlapped).
   */
  async take(index: number): Promise<{ step: CandidateStep; startedAt: number; endedAt: number } | null> {
    const spec = this.current;
    if (!spec || spec.index !== index) return null;
    for (const e of spec.held ?? []) this.emit(e);
    spec.held = null;
    const step = await spec.promise;
    this.current = null;
    return { step, startedAt: spec.startedAt, endedAt: spec.endedAt };
  }

  /** The judged step was rejected (or the request ends): stop and erase the speculative step, reopen the judged one. */
  async drop(): Promise<void> {
    const spec = this.current;
    if (!spec) return;
    this.current = null;
    spec.abort.abort();
    const step = await spec.promise;
    this.discardedTokens += step.tokens.length;
    await this.session.discardCandidate();
    this.session.reopenTentative();
  }
}
