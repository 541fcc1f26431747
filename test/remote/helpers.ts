import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { packageRoot } from "../../src/engine/index.js";

/**
 * A real llama-server (built by scripts/build-llama-server.sh from the llama.cpp source that
 * node-llama-cpp ships; the test command exports its path in ARBITRAGE_LLAMA_SERVER) on
 * 127.0.0.1 with one thread, and a small fault-injecting HTTP proxy in front of it for the faults
 * a real server cannot produce on demand (HTTP 500, broken JSON, a cut stream, slowness, an
 * answer without logprobs): what is tested is the client's handling of them.
 */

export function llamaServerBinary(): string {
  const given = process.env.ARBITRAGE_LLAMA_SERVER;
  if (given) return given;
  const built = spawnSync("bash", [join(packageRoot(), "scripts", "build-llama-server.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (built.status !== 0) throw new Error("scripts/build-llama-server.sh failed");
  return built.stdout.trim();
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface RunningServer {
  url: string;
  process: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

/**
 * Starts llama-server on a model; `exact` gives the embedded models' exact settings (F32 KV cache,
 * no flash attention, as the local engine runs them); real models get node-llama-cpp's defaults
 * (F16 KV, flash attention off).
 */
export async function startLlamaServer(
  model: string,
  opts: { alias?: string; exact?: boolean; contextSize?: number; parallel?: number; apiKey?: string } = {},
): Promise<RunningServer> {
  const port = await freePort();
  const args = [
    "-m",
    model,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "-t",
    "1",
    "-tb",
    "1",
    "-c",
    String(opts.contextSize ?? 4096),
    "-np",
    String(opts.parallel ?? 1),
    "-fa",
    "off",
    "--no-webui",
    "--no-warmup",
    ...(opts.alias ? ["--alias", opts.alias] : []),
    ...(opts.apiKey ? ["--api-key", opts.apiKey] : []),
    ...(opts.exact ? ["-ctk", "f32", "-ctv", "f32"] : []),
  ];
  const child = spawn(llamaServerBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output = (output + d).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited (${child.exitCode}):\n${output}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`llama-server did not become healthy in 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    log: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** What the proxy does to completion calls (POST /completion, /v1/completions); everything else passes through. */
export type Fault =
  | { kind: "none" }
  | { kind: "http-500"; fromCall: number }
  | { kind: "malformed-json"; fromCall: number }
  | { kind: "truncate"; fromCall: number }
  | { kind: "slow"; fromCall: number; delayMs: number }
  | { kind: "strip-logprobs"; fromCall: number };

export interface FaultProxy {
  url: string;
  fault: Fault;
  /** Completion calls seen (1-based numbering in `fromCall`). */
  calls: number;
  /** Their request bodies, in order (the prompt token ids a client sent, for instance). */
  bodies: string[];
  close(): Promise<void>;
}

const isCompletion = (req: IncomingMessage) => req.method === "POST" && (req.url === "/completion" || req.url === "/v1/completions");

/** Removes token log-probabilities from one SSE `data:` line, leaving everything else as the server sent it. */
function stripLogprobs(line: string): string {
  if (!line.startsWith("data:") || line.includes("[DONE]")) return line;
  const data = JSON.parse(line.slice(5));
  delete data.completion_probabilities;
  for (const c of data.choices ?? []) c.logprobs = null;
  return `data: ${JSON.stringify(data)}`;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const proxy: FaultProxy = { url: "", fault: { kind: "none" }, calls: 0, bodies: [], close: async () => undefined };
  const sockets = new Set<import("node:net").Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const completion = isCompletion(req);
    const call = completion ? ++proxy.calls : 0;
    const f = proxy.fault;
    const active = completion && f.kind !== "none" && call >= f.fromCall;
    if (active && f.kind === "http-500") {
      req.resume();
      res
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { code: 500, message: "injected failure", type: "server_error" } }));
      return;
    }
    const forward = () => {
      const up = httpRequest(
        // A fresh upstream connection per call: a kept-alive one could be stale after a fault, which would test the proxy, not the client.
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, agent: false },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          if (!active || f.kind === "slow") {
            upRes.pipe(res);
            return;
          }
          let buffer = "";
          let events = 0;
          upRes.setEncoding("utf8");
          upRes.on("data", (chunk: string) => {
            buffer += chunk;
            let nl: number;
            while ((nl = buffer.indexOf("\n")) >= 0) {
              const line = buffer.slice(0, nl);
              buffer = buffer.slice(nl + 1);
              if (line.startsWith("data:")) events++;
              if (f.kind === "truncate" && events >= 2) {
                // The answer stops in the middle of an event's JSON, and the response ends there.
                upRes.destroy();
                res.end(line.slice(0, Math.floor(line.length / 2)));
                return;
              }
              if (f.kind === "malformed-json" && events === 2 && line.startsWith("data:")) res.write('data: {"content": "2+\n');
              else res.write(`${f.kind === "strip-logprobs" ? stripLogprobs(line) : line}\n`);
            }
          });
          upRes.on("end", () => res.end(buffer));
        },
      );
      up.on("error", () => res.destroy());
      if (completion) {
        // Read alongside the pipe, attached with it: a listener attached earlier would let a delayed pipe miss the body.
        const index = proxy.bodies.push("") - 1;
        req.on("data", (chunk: Buffer) => (proxy.bodies[index] += chunk.toString("utf8")));
      }
      req.pipe(up);
    };
    if (active && f.kind === "slow") setTimeout(() => !res.destroyed && !res.writableEnded && req.socket.writable && forward(), f.delayMs);
    else forward();
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return proxy;
}
