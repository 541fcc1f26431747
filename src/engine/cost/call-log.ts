import type { ModelCost } from "./types.js";

/**
 * A generating model's llama.cpp calls, timed where they happen (model-session.ts): single-token
 * decodes and batches apart, so the cost model (`ModelCost`) is fitted from the runs themselves.
 */
export class CallLog {
  decodeCalls = 0;
  decodeMs = 0;
  batchCalls = 0;
  batchTokens = 0;
  batchMs = 0;

  record(tokens: number, ms: number): void {
    if (tokens <= 0) return;
    if (tokens === 1) {
      this.decodeCalls++;
      this.decodeMs += ms;
    } else {
      this.batchCalls++;
      this.batchTokens += tokens;
      this.batchMs += ms;
    }
  }

  add(other: CallLog): void {
    this.decodeCalls += other.decodeCalls;
    this.decodeMs += other.decodeMs;
    this.batchCalls += other.batchCalls;
    this.batchTokens += other.batchTokens;
    this.batchMs += other.batchMs;
  }

  /** The fitted cost, or null until at least one decode and one batch of two or more tokens were timed. */
  cost(): ModelCost | null {
    if (this.decodeCalls === 0 || this.batchCalls === 0) return null;
    const decodeMs = this.decodeMs / this.decodeCalls;
    // Each batch's first token costs a decode; the rest share what is left.
    const extraTokens = this.batchTokens - this.batchCalls;
    const batchTokenMs = Math.max(0, (this.batchMs - this.batchCalls * decodeMs) / extraTokens);
    return { decodeMs, batchTokenMs, decodeCalls: this.decodeCalls, batchTokens: this.batchTokens };
  }

  static from(cost: ModelCost): CallLog {
    const log = new CallLog();
    log.decodeCalls = cost.decodeCalls;
    log.decodeMs = cost.decodeMs * cost.decodeCalls;
    // Stored as one batch per 32 tokens: enough to carry the per-token figure back.
    log.batchCalls = Math.max(1, Math.round(cost.batchTokens / 32));
    log.batchTokens = Math.max(log.batchCalls + 1, cost.batchTokens);
    log.batchMs = log.batchCalls * cost.decodeMs + (log.batchTokens - log.batchCalls) * cost.batchTokenMs;
    return log;
  }
}
