import type { Token } from "node-llama-cpp";
import { ArbitrageError } from "../errors.js";
import { readEvents, send, type HttpTarget } from "./http.js";

/**
 * One streamed step from a serving engine, in one of two dialects:
 * - "openai": POST /v1/completions (vLLM, SGLang, llama-server, any OpenAI-compatible server):
 *   prompt as token ids, `stop: [delimiter]`, `max_tokens`, `temperature`, `logprobs: 1` when a
 *   judge needs token confidences. The answer is text: the stop string is cut off by the server and
 *   put back here, and EOS is told from the stop string by vLLM's `stop_reason` (null for EOS).
 * - "llama.cpp": POST /completion, llama-server's own endpoint: the same request plus
 *   `cache_prompt` and `return_tokens`, and it answers what /v1/completions cannot: the sampled
 *   token ids (so the committed tokens are the model's own, exactly as a local run's) and why it
 *   stopped (`stop_type`: eos, word, limit).
 * Both report the prompt tokens the server actually evaluated (`timings.prompt_n`, or
 * usage.prompt_tokens minus prompt_tokens_details.cached_tokens).
 */

export type Dialect = "openai" | "llama.cpp";

export interface CompletionRequest {
  model: string | undefined;
  prompt: readonly Token[];
  maxTokens: number;
  delimiter: string;
  temperature: number;
  seed?: number;
  wantConfidences: boolean;
  signal?: AbortSignal;
  /** Text as it streams in (for the live view). */
  onText?: (delta: string) => void;
}

export interface CompletionAnswer {
  /** The sampled token ids, when the dialect returns them (llama.cpp). */
  tokens: Token[] | null;
  /** The step's text; the delimiter that ended it is included, as in a local step. */
  text: string;
  endedBy: "delimiter" | "eos" | "limit" | "cancelled";
  confidences: number[];
  completionTokens: number;
  /** Prompt tokens the server evaluated (null when it does not say). */
  processed: number | null;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function badAnswer(target: HttpTarget, what: string): ArbitrageError {
  return new ArbitrageError("remote-bad-answer", `The ${target.label} sent an answer this client cannot use: ${what}.`);
}

function serverError(target: HttpTarget, error: unknown): ArbitrageError {
  const message = isObject(error) && typeof error.message === "string" ? error.message : JSON.stringify(error);
  return new ArbitrageError("remote-http-error", `The ${target.label} reported an error: ${message}`);
}

function processedFrom(event: Json): number | null {
  const timings = event.timings;
  if (isObject(timings) && typeof timings.prompt_n === "number") return timings.prompt_n;
  const usage = event.usage;
  if (isObject(usage) && typeof usage.prompt_tokens === "number") {
    const details = usage.prompt_tokens_details;
    const cached = isObject(details) && typeof details.cached_tokens === "number" ? details.cached_tokens : null;
    return cached === null ? null : usage.prompt_tokens - cached;
  }
  return null;
}

/** Token log-probabilities in a chunk: OpenAI's legacy completions form, or the chat-style `content` list llama-server sends. */
function logprobsOf(logprobs: unknown): number[] | null {
  if (!isObject(logprobs)) return null;
  if (Array.isArray(logprobs.token_logprobs)) return logprobs.token_logprobs.map(Number);
  if (Array.isArray(logprobs.content)) return logprobs.content.map((c) => Number(isObject(c) ? c.logprob : NaN));
  return null;
}

function pushConfidences(target: HttpTarget, into: number[], logprobs: number[] | null, needed: boolean): void {
  if (!needed) return;
  if (logprobs === null)
    throw badAnswer(
      target,
      "it asked for token log-probabilities (logprobs) and the answer has none; the router needs them (use a server that returns completion logprobs, or a router that does not need confidences)",
    );
  for (const lp of logprobs) {
    if (!Number.isFinite(lp)) throw badAnswer(target, `a token log-probability is not a number (${lp})`);
    into.push(Math.exp(lp));
  }
}

export async function streamCompletion(target: HttpTarget, dialect: Dialect, req: CompletionRequest): Promise<CompletionAnswer> {
  const common = {
    prompt: req.prompt,
    temperature: req.temperature,
    stop: [req.delimiter],
    stream: true,
    ...(req.model ? { model: req.model } : {}),
    ...(req.seed !== undefined ? { seed: req.seed } : {}),
  };
  const body =
    dialect === "llama.cpp"
      ? { ...common, n_predict: req.maxTokens, cache_prompt: true, return_tokens: true, ...(req.wantConfidences ? { n_probs: 1 } : {}) }
      : { ...common, max_tokens: req.maxTokens, stream_options: { include_usage: true }, ...(req.wantConfidences ? { logprobs: 1 } : {}) };
  const path = dialect === "llama.cpp" ? "/completion" : "/v1/completions";
  const answer: CompletionAnswer = {
    tokens: dialect === "llama.cpp" ? [] : null,
    text: "",
    endedBy: "limit",
    confidences: [],
    completionTokens: 0,
    processed: null,
  };
  let finished = false;
  let sent;
  try {
    sent = await send(target, { method: "POST", path, body, signal: req.signal, idempotent: false });
  } catch (e) {
    if (req.signal?.aborted) return { ...answer, endedBy: "cancelled" };
    throw e;
  }
  const onEvent = (data: unknown): boolean => {
    if (!isObject(data)) throw badAnswer(target, `a stream event is ${JSON.stringify(data)?.slice(0, 80)}, not an object`);
    if (data.error !== undefined) throw serverError(target, data.error);
    const processed = processedFrom(data);
    if (processed !== null) answer.processed = processed;
    if (dialect === "llama.cpp") {
      if (typeof data.content !== "string") throw badAnswer(target, "a /completion event has no content text");
      answer.text += data.content;
      if (data.content) req.onText?.(data.content);
      const tokens = Array.isArray(data.tokens) ? data.tokens : [];
      if (!tokens.every((t) => Number.isInteger(t))) throw badAnswer(target, "token ids that are not integers");
      answer.tokens!.push(...(tokens as Token[]));
      const probs = data.completion_probabilities;
      if (tokens.length > 0)
        pushConfidences(
          target,
          answer.confidences,
          Array.isArray(probs) ? probs.map((p) => Number(isObject(p) ? p.logprob : NaN)) : null,
          req.wantConfidences,
        );
      if (data.stop === true) {
        finished = true;
        answer.completionTokens = typeof data.tokens_predicted === "number" ? data.tokens_predicted : answer.tokens!.length;
        const type = data.stop_type;
        answer.endedBy = type === "eos" ? "eos" : type === "word" ? "delimiter" : "limit";
        return false;
      }
      return true;
    }
    // OpenAI-compatible: choices[0] carries text (and logprobs); a last event may carry usage only.
    const choices = data.choices;
    if (!Array.isArray(choices)) throw badAnswer(target, "a /v1/completions event has no choices list");
    const choice = choices[0];
    if (isObject(choice)) {
      if (typeof choice.text !== "string") throw badAnswer(target, "a completion choice has no text");
      answer.text += choice.text;
      if (choice.text) req.onText?.(choice.text);
      // A token whose text the server holds back (it might start the stop string) still carries its logprob.
      const logprobs = logprobsOf(choice.logprobs);
      if (choice.text || logprobs !== null) pushConfidences(target, answer.confidences, logprobs, req.wantConfidences);
      const reason = choice.finish_reason;
      if (reason === "stop" || reason === "length") {
        finished = true;
        // vLLM names what stopped it: the stop string, or null for EOS. Without stop_reason a
        // "stop" is taken as the delimiter (an EOS then shows as an empty next step).
        const eos =
          reason === "stop" && ("stop_reason" in choice ? choice.stop_reason === null || typeof choice.stop_reason === "number" : answer.text === "");
        answer.endedBy = reason === "length" ? "limit" : eos ? "eos" : "delimiter";
      } else if (reason !== null && reason !== undefined) {
        throw badAnswer(target, `finish_reason ${JSON.stringify(reason)}`);
      }
    }
    const usage = data.usage;
    if (isObject(usage) && typeof usage.completion_tokens === "number") answer.completionTokens = usage.completion_tokens;
    return true;
  };
  try {
    const end = await readEvents(target, sent.response, sent.timer, req.signal, onEvent);
    if (!finished) {
      if (req.signal?.aborted) return { ...answer, endedBy: "cancelled" };
      throw new ArbitrageError(
        "remote-bad-answer",
        `The ${target.label}'s answer ended before the step did (${end === "closed" ? "the connection closed" : "[DONE]"} after ${JSON.stringify(answer.text.slice(-60))}, no finish reason). Is the server still running?`,
      );
    }
  } catch (e) {
    if (req.signal?.aborted) return { ...answer, endedBy: "cancelled" };
    throw e;
  }
  if (answer.endedBy === "delimiter" && dialect === "openai") {
    // The server cut the stop string off; a local step keeps it.
    answer.text += req.delimiter;
  }
  if (answer.completionTokens === 0) answer.completionTokens = answer.tokens?.length ?? answer.confidences.length;
  return answer;
}
