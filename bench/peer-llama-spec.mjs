#!/usr/bin/env node
// The peer a user would pick instead of Arbitrage: llama.cpp's own token-level speculative
// decoding (llama-server --spec-type draft-simple) on the same draft/target pair and problems,
// against the same llama-server without a draft. Greedy, one thread, the engine's exact settings
// (F32 KV caches, no flash attention). Prints one line per setting and, with --json, one JSON
// object. See bench/README.md ("The peer").
//
//   node bench/peer-llama-spec.mjs [--problems FILE] [--limit N] [--n-max 2,4,8] [--json] [--save FILE]
//
// llama-server: $ARBITRAGE_LLAMA_SERVER, else what scripts/build-llama-server.sh prints (it builds
// it once from the llama.cpp source node-llama-cpp ships, then reuses the cached binary).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { llamaServerBinary, startLlamaServer } from "./llama-server.mjs";

const ROOT = resolve(import.meta.dirname, "..");

function fail(message) {
  process.stderr.write(`peer-llama-spec: error: ${message}\n`);
  process.exit(2);
}

const { values: o } = parseArgs({
  options: {
    problems: { type: "string", default: join(ROOT, "bench/problems/embedded-heldout.jsonl") },
    limit: { type: "string" },
    "n-max": { type: "string", default: "2,4,8" },
    target: { type: "string", default: join(ROOT, "models/target.gguf") },
    draft: { type: "string", default: join(ROOT, "models/draft.gguf") },
    server: { type: "string" },
    warmup: { type: "string", default: "2" },
    "max-tokens": { type: "string", default: "256" },
    json: { type: "boolean", default: false },
    save: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (o.help) {
  process.stdout.write(
    readFileSync(import.meta.filename, "utf8")
      .split("\n")
      .slice(1, 12)
      .join("\n")
      .replaceAll("// ", "") + "\n",
  );
  process.exit(0);
}

const wholeNumber = (flag, text, min) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) fail(`${flag} must be a whole number >= ${min} (got ${JSON.stringify(text)}).`);
  return n;
};
const nMax = [...new Set(o["n-max"].split(",").map((s) => wholeNumber("--n-max", s.trim(), 1)))];
const warmup = wholeNumber("--warmup", o.warmup, 0);
const maxTokens = wholeNumber("--max-tokens", o["max-tokens"], 1);

function loadProblems(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    fail(`cannot read the problems ${JSON.stringify(path)}: ${e.message}`);
  }
  return text
    .split("\n")
    .map((line, i) => [line.trim(), i + 1])
    .filter(([line]) => line !== "")
    .map(([line, n]) => {
      let p;
      try {
        p = JSON.parse(line);
      } catch {
        fail(`${path}:${n} is not JSON (one {"question", "answer"} per line).`);
      }
      if (typeof p.question !== "string" || typeof p.answer !== "string") fail(`${path}:${n} needs "question" and "answer" strings.`);
      return p;
    });
}

let problems = loadProblems(resolve(o.problems));
if (o.limit !== undefined) problems = problems.slice(0, wholeNumber("--limit", o.limit, 1));
if (problems.length === 0) fail("no problems.");

function serverBinary() {
  try {
    return llamaServerBinary(o.server);
  } catch (e) {
    fail(e.message);
  }
}

/** One llama-server on the target, with the draft when `n` is a number (token-level speculation, at most n tokens per round). */
async function startServer(binary, n) {
  // The engine's exact settings: one thread, F32 KV cache, no flash attention (the same for the draft).
  const args = ["-m", o.target, "-t", "1", "-tb", "1", "-c", "4096", "-np", "1"];
  args.push("-fa", "off", "--no-webui", "-ctk", "f32", "-ctv", "f32");
  if (n !== null) {
    args.push(
      "--spec-type",
      "draft-simple",
      "-md",
      o.draft,
      "--spec-draft-n-max",
      String(n),
      "-td",
      "1",
      "-tbd",
      "1",
      "-ctkd",
      "f32",
      "-ctvd",
      "f32",
    );
  }
  try {
    const { url, stop } = await startLlamaServer(binary, args, 60_000);
    return { n, url, args, stop };
  } catch (e) {
    fail(e.message);
  }
}

/** The embedded task's prompt (src/engine/prompt.ts): the raw `Q: <question>\n\n`. */
const promptOf = (question) => `Q: ${question}\n\n`;
const finalAnswer = (text) => {
  const m = /(?:^|\n)A:\s*(.*)/.exec(text);
  return m ? m[1].trim() : null;
};

async function complete(server, question) {
  const t0 = performance.now();
  // cache_prompt off: every request evaluates its prompt, as every engine request starts from a cleared cache.
  const r = await fetch(`${server.url}/completion`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: promptOf(question), n_predict: maxTokens, temperature: 0, cache_prompt: false }),
  });
  if (!r.ok) fail(`llama-server answered HTTP ${r.status}: ${await r.text()}`);
  const body = await r.json();
  const wallMs = performance.now() - t0;
  return {
    wallMs,
    text: body.content,
    answer: finalAnswer(body.content),
    predicted: body.timings?.predicted_n ?? null,
    drafted: body.timings?.draft_n ?? 0,
    accepted: body.timings?.draft_n_accepted ?? 0,
  };
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? 0 : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const binary = serverBinary();
const settings = [null, ...nMax];
const servers = [];
try {
  for (const n of settings) servers.push(await startServer(binary, n));
  const perProblem = [];
  const total = warmup + problems.length;
  for (let i = -Math.min(warmup, problems.length); i < problems.length; i++) {
    const p = problems[(i + problems.length) % problems.length];
    const runs = {};
    // All settings run each problem before the next one, in an order rotated per problem (drift hits all alike).
    for (let k = 0; k < servers.length; k++) {
      const s = servers[(k + Math.max(0, i)) % servers.length];
      runs[s.n === null ? "target" : `n${s.n}`] = await complete(s, p.question);
    }
    process.stderr.write(`\rpeer: ${i + Math.min(warmup, problems.length) + 1}/${total}${i < 0 ? " (warm-up)" : ""}   `);
    if (i < 0) continue;
    perProblem.push({ problem: i, question: p.question, expected: p.answer, ...runs });
  }
  process.stderr.write("\n");
  const target = perProblem.map((r) => r.target);
  const summary = {
    problems: perProblem.length,
    target: {
      meanMs: mean(target.map((r) => r.wallMs)),
      medianMs: median(target.map((r) => r.wallMs)),
      accuracy: mean(perProblem.map((r) => (r.target.answer === r.expected ? 1 : 0))),
    },
    speculative: nMax.map((n) => {
      const runs = perProblem.map((r) => r[`n${n}`]);
      const drafted = runs.reduce((a, r) => a + r.drafted, 0);
      const accepted = runs.reduce((a, r) => a + r.accepted, 0);
      const meanMs = mean(runs.map((r) => r.wallMs));
      return {
        nMax: n,
        meanMs,
        medianMs: median(runs.map((r) => r.wallMs)),
        speedupVsTarget: mean(target.map((r) => r.wallMs)) / meanMs,
        acceptance: drafted > 0 ? accepted / drafted : null,
        draftedPerProblem: drafted / runs.length,
        identicalAnswers: perProblem.every((r) => r[`n${n}`].answer === r.target.answer),
        identicalTexts: perProblem.filter((r) => r[`n${n}`].text === r.target.text).length,
        accuracy: mean(perProblem.map((r) => (r[`n${n}`].answer === r.expected ? 1 : 0))),
      };
    }),
  };
  const output = {
    meta: {
      date: new Date().toISOString(),
      problemsFile: resolve(o.problems),
      server: binary,
      target: o.target,
      draft: o.draft,
      warmup,
      maxTokens,
      settings: servers.map((s) => ({ nMax: s.n, args: s.args })),
    },
    perProblem,
    summary,
  };
  if (o.save) {
    mkdirSync(dirname(resolve(o.save)), { recursive: true });
    writeFileSync(resolve(o.save), `${JSON.stringify(output, null, 1)}\n`);
  }
  if (o.json) process.stdout.write(`${JSON.stringify(output)}\n`);
  else {
    const pct = (x) => (x === null ? "–" : `${(100 * x).toFixed(1)}%`);
    process.stdout.write(
      `llama-server target only: ${summary.target.meanMs.toFixed(1)} ms/problem (median ${summary.target.medianMs.toFixed(1)}), accuracy ${pct(summary.target.accuracy)}, ${summary.problems} problems\n`,
    );
    for (const s of summary.speculative) {
      process.stdout.write(
        `llama-server draft-simple n-max ${s.nMax}: ${s.meanMs.toFixed(1)} ms/problem (median ${s.medianMs.toFixed(1)}), ${s.speedupVsTarget.toFixed(2)}x target-only, ` +
          `${pct(s.acceptance)} of draft tokens accepted, answers ${s.identicalAnswers ? "identical" : "DIFFERENT"}, texts identical on ${s.identicalTexts}/${summary.problems}\n`,
      );
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
