#!/usr/bin/env -S node --import tsx
// Decode parity: the engine's plain decoding (policies target and draft) against llama.cpp's own
// llama-server on the same model, the same prompt tokens, the same threads, greedy, the same
// token count, side by side per problem (engine and server in turn, the order rotated per
// problem so the machine's drift hits both alike). Prints one line per model and thread count:
// wall time per problem of each, their ratio (engine / server), the engine's overhead share
// (wall time in which no model worked) and whether both wrote the same tokens.
//
//   node --import tsx bench/decode-parity.mts [--draft FILE] [--target FILE] [--problems FILE]
//        [--limit N] [--threads 1,2] [--max-steps N] [--max-tokens-per-step N] [--json] [--save FILE]
//
// Defaults: the real pair Qwen2.5-Coder 0.5B -> 1.5B (scripts/fetch-real-models.sh), GSM8K test
// questions (../shared/data/gsm8k/test-first-half.jsonl), threads 1 and 2. llama-server:
// $ARBITRAGE_LLAMA_SERVER, else what scripts/build-llama-server.sh prints.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ArbitrageEngine, type ModelRole } from "../src/engine/index.js";
// @ts-expect-error: a plain ES module shared with peer-llama-spec.mjs, no type declarations
import { llamaServerBinary, startLlamaServer } from "./llama-server.mjs";

const ROOT = resolve(import.meta.dirname, "..");
const CACHE = process.env.ARBITRAGE_REAL_MODELS ?? join(homedir(), ".cache", "arbitrage", "real-models");
const { values: o } = parseArgs({
  options: {
    draft: { type: "string", default: join(CACHE, "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf") },
    target: { type: "string", default: join(CACHE, "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf") },
    problems: { type: "string", default: join(ROOT, "..", "shared", "data", "gsm8k", "test-first-half.jsonl") },
    limit: { type: "string", default: "20" },
    threads: { type: "string", default: "1,2" },
    "max-steps": { type: "string", default: "64" },
    "max-tokens-per-step": { type: "string", default: "256" },
    json: { type: "boolean", default: false },
    save: { type: "string" },
  },
});
const fail = (m: string): never => {
  process.stderr.write(`decode-parity: error: ${m}\n`);
  process.exit(2);
};
for (const f of [o.draft!, o.target!, o.problems!]) if (!existsSync(f)) fail(`${f} is missing (scripts/fetch-real-models.sh fetches the models).`);
const questions = readFileSync(o.problems!, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .slice(0, Number(o.limit))
  .map((l) => (JSON.parse(l) as { question: string }).question);
const threadCounts = o.threads!.split(",").map(Number);
const binary: string = llamaServerBinary();

async function startServer(model: string, threads: number) {
  // The engine's settings for a real model: F16 KV cache (llama.cpp's default), no flash attention.
  const args = ["-m", model, "-t", String(threads), "-tb", String(threads), "-c", "4096", "-np", "1", "-fa", "off", "--no-webui"];
  return startLlamaServer(binary, args);
}

interface Row {
  model: ModelRole;
  threads: number;
  problems: number;
  engineMs: number;
  serverMs: number;
  ratio: number;
  overheadShare: number;
  tokens: number;
  sameText: number;
}
const rows: Row[] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

for (const threads of threadCounts) {
  const engine = await ArbitrageEngine.create({ draft: o.draft, target: o.target, threads, router: "confidence" });
  try {
    for (const role of ["target", "draft"] as const) {
      const server = await startServer(role === "target" ? o.target! : o.draft!, threads);
      try {
        const engineMs: number[] = [];
        const serverMs: number[] = [];
        let overhead = 0;
        let wall = 0;
        let tokens = 0;
        let same = 0;
        // One untimed question first: both sides page the weights in and allocate their graphs.
        for (let i = -1; i < questions.length; i++) {
          const q = questions[Math.max(0, i)]!;
          let promptText = "";
          const r = await engine.reason(
            q,
            { policy: role, maxSteps: Number(o["max-steps"]), maxTokensPerStep: Number(o["max-tokens-per-step"]) },
            { onEvent: (e) => void (e.type === "run-started" && (promptText = e.prompt)) },
          );
          // The same prompt tokens: the engine's prompt text, tokenized by the server's copy of the same model with its specials.
          const tok = await fetch(`${server.url}/tokenize`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ content: promptText, add_special: false, parse_special: true }),
          }).then((x) => x.json() as Promise<{ tokens: number[] }>);
          const n = r.stats.meters[role].generated;
          const t0 = performance.now();
          const res = await fetch(`${server.url}/completion`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ prompt: tok.tokens, n_predict: n, temperature: 0, top_k: 1, cache_prompt: false }),
          });
          const body = (await res.json()) as { content: string };
          const ms = performance.now() - t0;
          if (i < 0) continue;
          engineMs.push(r.stats.wallMs);
          serverMs.push(ms);
          overhead += r.stats.overheadMs;
          wall += r.stats.wallMs;
          tokens += n;
          if (body.content.trimEnd() === r.text.trimEnd() || body.content.startsWith(r.text.trimEnd())) same++;
          else if (process.env.PARITY_DEBUG)
            process.stderr.write(
              `differs:\n[engine] ${JSON.stringify(r.text)}\n[server] ${JSON.stringify(body.content)}\n[prompt] ${JSON.stringify(promptText)}\n`,
            );
        }
        const row: Row = {
          model: role,
          threads,
          problems: questions.length,
          engineMs: median(engineMs),
          serverMs: median(serverMs),
          ratio: median(engineMs.map((e, k) => e / serverMs[k]!)),
          overheadShare: overhead / wall,
          tokens: tokens / questions.length,
          sameText: same,
        };
        rows.push(row);
        process.stdout.write(
          `${role.padEnd(6)} threads ${threads}: engine ${row.engineMs.toFixed(0)} ms, llama-server ${row.serverMs.toFixed(0)} ms per problem (median, ${row.tokens.toFixed(0)} tokens) — engine/server ${row.ratio.toFixed(3)}x (median of per-problem ratios); engine overhead ${(100 * row.overheadShare).toFixed(1)}%; same text on ${row.sameText}/${row.problems}\n`,
        );
      } finally {
        server.stop();
      }
    }
  } finally {
    await engine.dispose();
  }
}
const out = { date: new Date().toISOString(), draft: o.draft, target: o.target, problems: o.problems, rows };
if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
if (o.save) {
  mkdirSync(dirname(resolve(o.save)), { recursive: true });
  writeFileSync(resolve(o.save), `${JSON.stringify(out, null, 2)}\n`);
}
