import { ArbitrageError } from "../errors.js";

/**
 * HTTP to a serving engine, with the failure handling a request needs: every failure is an
 * ArbitrageError naming the server and what it answered; a server that goes quiet for
 * `timeoutMs` ends the call (the timer restarts with every byte, so a long streamed step is
 * fine); the caller's AbortSignal aborts the socket; idempotent calls (model lists, server
 * properties) are retried with backoff when the connection fails or the server is briefly
 * unavailable, a completion never is (it may already be queued or running there).
 */

export interface HttpTarget {
  /** Who is asked, for messages: e.g. "target server http://127.0.0.1:8080". */
  label: string;
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number;
}

export interface HttpCall {
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  signal?: AbortSignal;
  idempotent: boolean;
}

const RETRY_DELAYS_MS = [250, 1000];
const RETRY_STATUS = new Set([429, 502, 503, 504]);
const SHOWN_BODY_CHARS = 300;

/** A cancelled call: not an error of the server's. */
export class RemoteCancelled extends Error {}

function shown(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > SHOWN_BODY_CHARS ? `${t.slice(0, SHOWN_BODY_CHARS)}…` : t;
}

function networkCause(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code && cause.message) return `${cause.code}: ${cause.message}`;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}

/** An idle timer over an AbortController: `touch()` on every byte; `fired` tells a timeout from a cancel. */
class IdleTimer {
  readonly controller = new AbortController();
  fired = false;
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly ms: number,
    outer: AbortSignal | undefined,
  ) {
    if (outer?.aborted) this.controller.abort();
    outer?.addEventListener("abort", () => this.controller.abort(), { once: true });
    this.touch();
  }
  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort();
    }, this.ms);
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}

export function timeoutError(target: HttpTarget, what: string): ArbitrageError {
  return new ArbitrageError(
    "remote-timeout",
    `The ${target.label} sent nothing for ${target.timeoutMs / 1000} s ${what}. Check that it is not overloaded, or raise the remote timeout.`,
  );
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

/**
 * Sends one call and returns the response once its status is 2xx, with the idle timer that keeps
 * running while the caller reads the body. Throws ArbitrageError (or RemoteCancelled).
 */
export async function send(target: HttpTarget, call: HttpCall): Promise<{ response: Response; timer: IdleTimer }> {
  const url = `${target.baseUrl}${call.path}`;
  for (let attempt = 0; ; attempt++) {
    const timer = new IdleTimer(target.timeoutMs, call.signal);
    const headers: Record<string, string> = { accept: "application/json, text/event-stream" };
    if (call.body !== undefined) headers["content-type"] = "application/json";
    if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
    let retryable: ArbitrageError | null = null;
    try {
      const response = await fetch(url, {
        method: call.method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: timer.controller.signal,
      });
      if (response.ok) return { response, timer };
      const text = await response.text().catch(() => "");
      timer.stop();
      const error = new ArbitrageError(
        "remote-http-error",
        `The ${target.label} answered ${call.method} ${call.path} with HTTP ${response.status} ${response.statusText}${text ? `: ${shown(text)}` : ""}.${response.status === 401 || response.status === 403 ? " Set the API key in ARBITRAGE_API_KEY (or the role's own variable)." : ""}`,
      );
      if (!RETRY_STATUS.has(response.status)) throw error;
      retryable = error;
    } catch (e) {
      timer.stop();
      if (e instanceof ArbitrageError && e !== retryable) throw e;
      if (call.signal?.aborted) throw new RemoteCancelled();
      if (timer.fired) throw timeoutError(target, `after ${call.method} ${call.path}`);
      if (!(e instanceof ArbitrageError)) {
        retryable = new ArbitrageError(
          "remote-unreachable",
          `Cannot reach the ${target.label} (${call.method} ${url}: ${networkCause(e)}). Check that the server is running and the URL is right.`,
        );
      }
    }
    if (!call.idempotent || attempt >= RETRY_DELAYS_MS.length) throw retryable!;
    await sleep(RETRY_DELAYS_MS[attempt]!, call.signal);
    if (call.signal?.aborted) throw new RemoteCancelled();
  }
}

/** A JSON call (idempotent ones are retried). */
export async function getJson(target: HttpTarget, call: HttpCall): Promise<unknown> {
  const { response, timer } = await send(target, call);
  let text: string;
  try {
    text = await response.text();
  } catch (e) {
    if (call.signal?.aborted) throw new RemoteCancelled();
    if (timer.fired) throw timeoutError(target, `while answering ${call.path}`);
    throw new ArbitrageError("remote-unreachable", `The ${target.label} closed the connection while answering ${call.path} (${networkCause(e)}).`);
  } finally {
    timer.stop();
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ArbitrageError(
      "remote-bad-answer",
      `The ${target.label} answered ${call.path} with text that is not JSON: ${shown(text) || "(empty)"}`,
    );
  }
}

/**
 * Reads a server-sent-event stream: calls `onEvent` with each `data:` payload parsed as JSON,
 * stops at `[DONE]` or when `onEvent` returns false. Returns whether the stream ended by itself
 * (`[DONE]`, a false from onEvent) rather than by the connection closing.
 */
export async function readEvents(
  target: HttpTarget,
  response: Response,
  timer: IdleTimer,
  signal: AbortSignal | undefined,
  onEvent: (data: unknown) => boolean,
): Promise<"done" | "closed"> {
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = response.body!.getReader();
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (signal?.aborted) throw new RemoteCancelled();
        if (timer.fired) throw timeoutError(target, "in the middle of a step");
        throw new ArbitrageError(
          "remote-unreachable",
          `The connection to the ${target.label} broke in the middle of a step (${networkCause(e)}). Is the server still running?`,
        );
      }
      if (chunk.done) return "closed";
      timer.touch();
      buffer += decoder.decode(chunk.value, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith("data:")) {
          // llama-server reports a failed stream as an `error: {...}` line.
          if (line.startsWith("error:"))
            throw new ArbitrageError("remote-http-error", `The ${target.label} reported an error mid-stream: ${shown(line.slice(6))}`);
          continue;
        }
        const payload = line.slice(5).trim();
        if (payload === "[DONE]") return "done";
        let data: unknown;
        try {
          data = JSON.parse(payload);
        } catch {
          throw new ArbitrageError("remote-bad-answer", `The ${target.label} sent a stream event that is not JSON: ${shown(payload)}`);
        }
        if (!onEvent(data)) return "done";
      }
    }
  } finally {
    timer.stop();
    await reader.cancel().catch(() => undefined);
  }
}
