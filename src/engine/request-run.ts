import { BusyClock } from "./busy-clock.js";
import type { StepJudge } from "./judges.js";
import type { GeneratingSession } from "./generator.js";
import type { CandidateStep, StepLimits, TokenSpeculation } from "./step.js";
import type { StepDecision, StepOps } from "./policies.js";
import type { BuiltPrompt } from "./prompt.js";
import { DraftLookahead } from "./draft-lookahead.js";
import type { EngineEvent, FinishReason, ModelRole, ResolvedReasonOptions, StepRecord } from "./types.js";

/**
 * One request's moving parts around the step loop: the operations a policy calls (generate,
 * judge, score), closing each step's candidates (commit the chosen one, erase the rest), the
 * step record, and when the answer ends. The loop itself stays in `ArbitrageEngine.run`, short
 * enough to read as the paper's algorithm.
 */
export interface RequestParts {
  options: ResolvedReasonOptions;
  sessions: Record<ModelRole, GeneratingSession>;
  prompts: Record<ModelRole, BuiltPrompt>;
  router: StepJudge | undefined;
  scorer: StepJudge | undefined;
  sameTokenizer: boolean;
  /** The draft reports its token confidences even when no judge needs them (calibration records them). */
  draftConfidences?: boolean;
  /** Token-level speculation for the target's steps (token-speculation.ts), or null. */
  tokenSpeculation: TokenSpeculation | null;
  signal: AbortSignal | undefined;
  emit: (e: EngineEvent) => void;
}

/** How a step's candidates were closed: kept (committed), or the answer stops here. */
export type StepClose = "kept" | "cancelled" | "past-end";

export class RequestRun {
  readonly clock = new BusyClock();
  readonly speculation: DraftLookahead;
  /** Target work thrown away: unchosen target steps (oracle) and unkept verification tails. */
  readonly wasted = { targetTokensDiscarded: 0, targetVerifyWasted: 0 };
  /** The target's batch verification over the request, every target candidate's (stats.verification). */
  readonly verification = { rounds: 0, proposed: 0, accepted: 0, freshProposed: 0, freshAccepted: 0 };
  /**
   * Judging on the critical path (ms): every judge call's time, less the part during which the
   * draft was writing the next step that was then kept (draft-lookahead.ts). Without the lookahead it
   * is the judges' whole time; with it, what routing still adds to the answer's latency.
   */
  judgeCriticalMs = 0;
  private lastJudged: { index: number; start: number; end: number } | null = null;
  /** The draft proposed tokens during this step (its cache holds proposal scratch until the step closes). */
  private proposerUsed = false;

  constructor(private readonly parts: RequestParts) {
    this.speculation = new DraftLookahead(parts.sessions.draft, parts.emit, (w) => this.clock.time(w));
  }

  private limits(role: ModelRole, index: number): StepLimits {
    const { options, signal, emit, router, scorer, draftConfidences } = this.parts;
    return {
      delimiter: options.stepDelimiter,
      maxTokens: options.maxTokensPerStep,
      temperature: options.temperature,
      seed: options.temperature > 0 ? 1 + index : undefined,
      signal,
      wantConfidences: role === "draft" && (router?.needsConfidences === true || scorer?.needsConfidences === true || draftConfidences === true),
      onText: (text) => emit({ type: "token", index, model: role, text }),
      step: index,
    };
  }

  private isFinalStep(step: CandidateStep): boolean {
    const marker = this.parts.options.finalAnswerMarker;
    return marker !== "" && step.text.trim().startsWith(marker);
  }

  /** What the policies may do for step `index`. */
  ops(index: number): StepOps {
    const { options, sessions, router, scorer, sameTokenizer, signal, emit } = this.parts;
    return {
      generate: async (role, reuse) => {
        if (role === "draft") {
          const lookedAhead = await this.speculation.take(index);
          if (lookedAhead) {
            const judged = this.lastJudged;
            if (judged && judged.index === index - 1) {
              const overlap = Math.min(judged.end, lookedAhead.endedAt) - Math.max(judged.start, lookedAhead.startedAt);
              this.judgeCriticalMs -= Math.max(0, overlap);
            }
            return lookedAhead.step;
          }
        }
        emit({ type: "step-started", index, model: role });
        const reuseTokens = reuse && options.prefixReuse && sameTokenizer && role === "target" ? reuse.tokens : undefined;
        // How the target writes is its session's business: with a proposer it checks draft tokens in batches.
        const tokenSpeculation = role === "target" ? (this.parts.tokenSpeculation ?? undefined) : undefined;
        if (tokenSpeculation) this.proposerUsed = true;
        return this.clock.time(sessions[role].generateStep(this.limits(role, index), reuseTokens, tokenSpeculation));
      },
      judgeDraft: (kind, step) => {
        // Write the next draft step while this one is judged, unless this step ends the answer.
        const next = index + 1;
        if (options.speculativeDraft && step.endedBy === "delimiter" && !this.isFinalStep(step) && next < options.maxSteps && !signal?.aborted) {
          this.speculation.start(step, next, this.limits("draft", next), signal);
        }
        return this.timeJudge(index, () => (kind === "router" ? router! : scorer!).judge(step, index));
      },
      settle: (kept) => (kept ? Promise.resolve() : this.speculation.drop()),
      // The oracle compares two candidates' scores, so both are judged alike: without the draft's confidences.
      score: (step) => this.timeJudge(index, () => scorer!.judge({ ...step, confidences: undefined }, index)),
      cancelled: () => signal?.aborted === true,
    };
  }

  private async timeJudge(index: number, judge: () => Promise<number>): Promise<number> {
    const start = performance.now();
    try {
      return await this.clock.time(judge());
    } finally {
      const end = performance.now();
      this.judgeCriticalMs += end - start;
      this.lastJudged = { index, start, end };
    }
  }

  /**
   * Closes every open candidate: the chosen one is committed, the others are erased from their
   * caches. A cancelled step is dropped whole, and so is a step that starts a new question (past
   * the end of the answer), leaving every cache exactly at the committed text.
   */
  async close({ chosen, candidates }: StepDecision, index: number): Promise<StepClose> {
    const { sessions, prompts, signal, emit } = this.parts;
    const cancelled = chosen.endedBy === "cancelled" || signal?.aborted === true;
    const pastEnd = !cancelled && prompts[chosen.model].endOfAnswerPrefixes.some((p) => chosen.text.trimStart().startsWith(p));
    const keep = !cancelled && !pastEnd;
    if (!keep) await this.speculation.drop();
    for (const c of candidates) {
      if (c.model === "target") {
        this.wasted.targetVerifyWasted += c.verifyWasted;
        for (const k of Object.keys(this.verification) as Array<keyof typeof this.verification>) this.verification[k] += c.verification[k];
      }
      if (c.model === "target" && c !== chosen && !cancelled) this.wasted.targetTokensDiscarded += c.tokens.length;
      if (c === chosen && keep) sessions[c.model].commitCandidate(c);
      else {
        await sessions[c.model].discardCandidate();
        const reason = cancelled ? "cancelled" : c === chosen ? "past the end of the answer" : "not chosen";
        if (c.tokens.length > 0) emit({ type: "step-discarded", index, model: c.model, text: c.text, reason });
      }
    }
    if (this.proposerUsed) {
      // The draft's proposal scratch keeps what agrees with the target's committed step (appended to it next).
      this.proposerUsed = false;
      await this.parts.tokenSpeculation!.proposer.settleProposals(keep && chosen.model === "target" ? chosen.tokens : null);
    }
    return cancelled ? "cancelled" : pastEnd ? "past-end" : "kept";
  }

  /** Whether the answer ends after this committed step, and why. */
  answerEnd(chosen: CandidateStep): FinishReason | null {
    const { sessions } = this.parts;
    if (this.isFinalStep(chosen) && (chosen.endedBy === "eos" || chosen.endedBy === "delimiter")) return "final-answer";
    if (chosen.endedBy === "eos") return "eos";
    if (chosen.endedBy === "context-full" || Math.min(sessions.draft.roomLeft(), sessions.target.roomLeft()) <= 1) return "context-full";
    return null;
  }
}

export function stepRecord(index: number, decision: StepDecision, started: number): StepRecord {
  const { chosen, candidates } = decision;
  const draftStep = candidates.find((c) => c.model === "draft");
  const targetStep = candidates.find((c) => c.model === "target");
  return {
    index,
    text: chosen.text,
    model: chosen.model,
    routerScore: decision.routerScore,
    scorerScore: decision.scorerScore,
    targetScorerScore: decision.targetScorerScore,
    tokens: chosen.tokens.length,
    draftTokensDiscarded: draftStep && chosen !== draftStep ? draftStep.tokens.length : 0,
    targetTokensReused: chosen.model === "target" ? chosen.reused : 0,
    endedBy: chosen.endedBy,
    ms: performance.now() - started,
    draftMs: draftStep?.ms ?? 0,
    targetMs: targetStep?.ms ?? 0,
    routerMs: decision.judgeMs,
  };
}
