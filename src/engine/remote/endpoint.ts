import { ArbitrageError } from "../errors.js";
import type { ModelRole, RemoteModelConfig } from "../types.js";
import type { Dialect } from "./completions.js";
import { getJson, RemoteCancelled, type HttpTarget } from "./http.js";

/**
 * A serving engine as the engine sees it after connecting: where it is, the model name to send,
 * which API dialect to speak, and the context it serves. API keys come from the environment only
 * (ARBITRAGE_TARGET_API_KEY / ARBITRAGE_DRAFT_API_KEY, else ARBITRAGE_API_KEY), so they never sit
 * in settings, logs, events or the webview; the VS Code extension puts the key it keeps in
 * SecretStorage into the engine server process's environment.
 */

export const DEFAULT_REMOTE_TIMEOUT_MS = 60_000;

export interface RemoteEndpoint {
  role: ModelRole;
  http: HttpTarget;
  model: string | undefined;
  dialect: Dialect;
  /** Context per request on the server (llama-server's slot n_ctx, vLLM's max_model_len), when it says. */
  contextSize: number | undefined;
  /** The server's vocabulary size, when it says (llama-server). */
  vocabSize: number | undefined;
}

export function apiKeyVariable(role: ModelRole): string {
  return `ARBITRAGE_${role.toUpperCase()}_API_KEY`;
}

export function apiKeyFor(role: ModelRole, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[apiKeyVariable(role)] || env.ARBITRAGE_API_KEY || undefined;
}

/** The base URL without a trailing slash or /v1 (both API dialects' paths are appended to it). */
export function normaliseUrl(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/v1$/, "");
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** A warning when requests (and the API key) would cross the network unencrypted. */
export function plainHttpWarning(role: ModelRole, url: string): string | null {
  const u = new URL(url);
  if (u.protocol !== "http:" || LOOPBACK.has(u.hostname) || u.hostname.startsWith("127.")) return null;
  return `The ${role} server ${u.origin} is reached over plain http: prompts, answers and any API key cross the network unencrypted. Use https:// (or an SSH tunnel to 127.0.0.1).`;
}

interface ServedModel {
  id: string;
  aliases: string[];
  ownedBy: string | undefined;
  contextSize: number | undefined;
  vocabSize: number | undefined;
}

function servedModels(label: string, answer: unknown): ServedModel[] {
  const data = (answer as { data?: unknown })?.data;
  if (!Array.isArray(data))
    throw new ArbitrageError("remote-bad-answer", `The ${label} answered GET /v1/models without a model list (is it an OpenAI-compatible server?).`);
  return data.map((m: Record<string, unknown>) => {
    const meta = (m.meta ?? {}) as Record<string, unknown>;
    const ctx = typeof meta.n_ctx === "number" ? meta.n_ctx : typeof m.max_model_len === "number" ? m.max_model_len : undefined;
    return {
      id: String(m.id),
      aliases: Array.isArray(m.aliases) ? m.aliases.map(String) : [],
      ownedBy: typeof m.owned_by === "string" ? m.owned_by : undefined,
      contextSize: ctx,
      vocabSize: typeof meta.n_vocab === "number" ? meta.n_vocab : undefined,
    };
  });
}

/** Connects: lists the server's models (retried), checks the model name, picks the dialect. */
export async function connect(role: ModelRole, config: RemoteModelConfig, signal?: AbortSignal): Promise<RemoteEndpoint> {
  const baseUrl = normaliseUrl(config.url);
  const http: HttpTarget = {
    label: `${role} server ${baseUrl}`,
    baseUrl,
    apiKey: apiKeyFor(role),
    timeoutMs: config.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS,
  };
  let models: ServedModel[];
  try {
    models = servedModels(http.label, await getJson(http, { method: "GET", path: "/v1/models", signal, idempotent: true }));
  } catch (e) {
    if (e instanceof RemoteCancelled) throw new ArbitrageError("cancelled", `Connecting to the ${http.label} was cancelled.`);
    throw e;
  }
  const names = models.flatMap((m) => [m.id, ...m.aliases]);
  let served: ServedModel | undefined;
  if (config.model !== undefined) {
    served = models.find((m) => m.id === config.model || m.aliases.includes(config.model!));
    if (!served) {
      throw new ArbitrageError(
        "remote-unknown-model",
        `The ${http.label} does not serve a model named ${JSON.stringify(config.model)}; it serves ${names.map((n) => JSON.stringify(n)).join(", ") || "none"}. Set the ${role} model name to one of them.`,
      );
    }
  } else if (models.length === 1) {
    served = models[0];
  } else {
    throw new ArbitrageError(
      "remote-unknown-model",
      `The ${http.label} serves ${models.length} models (${names.map((n) => JSON.stringify(n)).join(", ") || "none"}): name the ${role} model to use.`,
    );
  }
  const dialect: Dialect =
    config.api === "openai" || config.api === "llama.cpp" ? config.api : served!.ownedBy === "llamacpp" ? "llama.cpp" : "openai";
  return { role, http, model: config.model ?? served!.id, dialect, contextSize: served!.contextSize, vocabSize: served!.vocabSize };
}
