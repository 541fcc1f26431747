#!/usr/bin/env -S node --import tsx
// Do the defaults do harm? For each pair and thread count, the same questions with no options
// (policy auto, as a user who never touched a setting) and with policy target, in turn (the order
// alternating per question), on one engine per pair. Prints per pair: what auto chose, wall time
// per problem of each (median), the ratio target / default (>= 1: the default is at least as
// fast), accuracy of each with the problem count, and the paired agreement (same answer).
//
//   node --import tsx bench/defaults.mts [--pairs embedded,qwen,smol-gemma] [--threads 1,2]
//        [--limit N] [--max-steps N] [--max-tokens-per-step N] [--save FILE]
//
// Questions: the embedded held-out set for the embedded pair, GSM8K test questions
// (../shared/data/gsm8k/test-first-half.jsonl) for the real pairs (scripts/fetch-real-models.sh).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { answerMatches } from "../src/engine/answer.js";
import { ArbitrageEngine, type ReasonResult } from "../src/engine/index.js";

const ROOT = resolve(import.meta.dirname, "..");
const CACHE = process.env.ARBITRAGE_REAL_MODELS ?? join(homedir(), ".cache", "arbitrage", "real-models");
const GSM8K = join(ROOT, "..", "shared", "data", "gsm8k", "test-first-half.jsonl");
const { values: o } = parseArgs({
  options: {
    pairs: { type: "string", default: "embedded,qwen,smol-gemma" },
    threads: { type: "string", default: "1,2" },
    limit: { type: "string", default: "10" },
    "max-steps": { type: "string", default: "12" },
    "max-tokens-per-step": { type: "string", default: "96" },
    save: { type: "string" },
  },
});

const gsm8k = (n: number) =>
  readFileSync(GSM8K, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(0, n)
    .map((l) => {
      const p = JSON.parse(l) as { question: string; answer: string };
      return { question: p.question, answer: p.answer.split("####").pop()!.trim().replaceAll(",", "") };
    });
const embedded = (n: number) =>
  readFileSync(join(ROOT, "bench", "problems", "embedded-heldout.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(0, n)
    .map((l) => JSON.parse(l) as { question: string; answer: string });

const PAIRS = {
  embedded: { config: {}, problems: embedded, request: {} },
  qwen: {
    config: {
      draft: join(CACHE, "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
      target: join(CACHE, "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
      router: "confidence",
    },
    problems: gsm8k,
    request: { maxSteps: Number(o["max-steps"]), maxTokensPerStep: Number(o["max-tokens-per-step"]) },
  },
  "smol-gemma": {
    config: { draft: join(CACHE, "SmolLM2-135M-Instruct.Q4_1.gguf"), target: join(CACHE, "gemma-3-270m-q4_k_m.gguf"), router: "confidence" },
    problems: gsm8k,
    request: { maxSteps: Number(o["max-steps"]), maxTokensPerStep: Number(o["max-tokens-per-step"]) },
  },
} as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const rows: unknown[] = [];
for (const name of o.pairs!.split(",") as (keyof typeof PAIRS)[]) {
  const pair = PAIRS[name];
  if (!pair) throw new Error(`unknown pair ${name} (embedded, qwen, smol-gemma)`);
  for (const f of Object.values(pair.config))
    if (f.endsWith(".gguf") && !existsSync(f)) throw new Error(`${f} is missing: scripts/fetch-real-models.sh`);
  const problems = pair.problems(Number(o.limit));
  for (const threads of o.threads!.split(",").map(Number)) {
    const engine = await ArbitrageEngine.create({ ...pair.config, threads, contextSize: 2048 });
    try {
      const run = (q: string, policy?: "target") => engine.reason(q, { ...pair.request, ...(policy ? { policy } : {}) });
      // Untimed: the first request pays for auto's probe and both sides' first evaluations.
      await run(problems[0]!.question);
      await run(problems[0]!.question, "target");
      const auto: ReasonResult[] = [];
      const target: ReasonResult[] = [];
      for (const [i, p] of problems.entries()) {
        if (i % 2 === 0) {
          auto.push(await run(p.question));
          target.push(await run(p.question, "target"));
        } else {
          target.push(await run(p.question, "target"));
          auto.push(await run(p.question));
        }
      }
      const correct = (rs: ReasonResult[]) => rs.filter((r, i) => answerMatches(r.answer, problems[i]!.answer)).length;
      const chosen = [...new Set(auto.map((r) => r.policy))].join("+");
      const row = {
        pair: name,
        threads,
        problems: problems.length,
        chosen,
        reason: auto[0]!.stats.choice?.reason ?? "",
        autoMs: median(auto.map((r) => r.stats.wallMs)),
        targetMs: median(target.map((r) => r.stats.wallMs)),
        speedup: median(auto.map((r, i) => target[i]!.stats.wallMs / r.stats.wallMs)),
        autoCorrect: correct(auto),
        targetCorrect: correct(target),
        sameAnswer: auto.filter((r, i) => r.answer === target[i]!.answer).length,
      };
      rows.push(row);
      process.stdout.write(
        `${name} threads ${threads}: auto ran ${chosen}; ${row.autoMs.toFixed(0)} vs target ${row.targetMs.toFixed(0)} ms/problem (median) — ${row.speedup.toFixed(3)}x the target's speed (median of per-problem ratios); accuracy ${row.autoCorrect}/${row.problems} vs ${row.targetCorrect}/${row.problems}; same answer on ${row.sameAnswer}/${row.problems}\n  ${row.reason}\n`,
      );
    } finally {
      await engine.dispose();
    }
  }
}
if (o.save) {
  mkdirSync(dirname(resolve(o.save)), { recursive: true });
  writeFileSync(resolve(o.save), `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`);
}
