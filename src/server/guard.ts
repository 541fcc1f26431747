/**
 * vscode-jsonrpc answers unknown methods (MethodNotFound) and bad params (our handlers throw
 * InvalidParams), but it only logs messages that are not JSON-RPC at all. This guard sees every
 * raw IPC message first and answers those with a JSON-RPC "Invalid Request" error (-32600), so
 * a sender always gets a reply; the connection itself ignores them and keeps serving.
 */
import { RpcErrorCodes } from "../protocol/index.js";

export function installRawMessageGuard(): void {
  if (typeof process.send !== "function") return;
  process.on("message", (msg: unknown) => {
    const problem = describeInvalid(msg);
    if (problem === null) return;
    const id = typeof msg === "object" && msg !== null && !Array.isArray(msg) ? (msg as { id?: unknown }).id : undefined;
    const replyId = typeof id === "string" || typeof id === "number" ? id : null;
    try {
      process.send!({ jsonrpc: "2.0", id: replyId, error: { code: RpcErrorCodes.InvalidRequest, message: `Invalid Request: ${problem}` } });
    } catch {
      /* channel closed */
    }
  });
}

/** Returns why a message is not a JSON-RPC request, notification or response, or null when it is one. */
export function describeInvalid(msg: unknown): string | null {
  if (typeof msg !== "object" || msg === null) return `expected a JSON-RPC object, got ${msg === null ? "null" : typeof msg}`;
  if (Array.isArray(msg)) return "batch messages are not supported";
  const m = msg as Record<string, unknown>;
  if ("method" in m) {
    if (typeof m.method !== "string" || m.method === "") return "method must be a non-empty string";
    if ("id" in m && m.id !== undefined && typeof m.id !== "string" && typeof m.id !== "number") return "id must be a string or a number";
    return null;
  }
  if ("id" in m && ("result" in m || "error" in m)) return null; // a response to a server->client request
  return "neither a request, a notification nor a response";
}
