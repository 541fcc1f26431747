import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ArbitrageEngine, ArbitrageError, embeddedModelPath, type ReasonResult } from "../../src/engine/index.js";
import { QUESTIONS, THREADS, texts } from "../engine/helpers.js";
import { freePort, startFaultProxy, startLlamaServer, type FaultProxy, type RunningServer } from "./helpers.js";

/**
 * The target on a real llama-server (the embedded target GGUF, one thread, the local engine's
 * exact settings), against the same engine with the target here: greedy steps, the arbitrage
 * policy at thresholds 0 and 1, the server's prefix cache, and every fault the issue names.
 */

// Routed unless a test names another policy: thresholds below are the router's.
const OPTIONS = { maxSteps: 12, policy: "arbitrage" as const };

async function expectError(work: Promise<unknown>, code: string, pattern: RegExp): Promise<ArbitrageError> {
  try {
    await work;
  } catch (e) {
    assert.ok(e instanceof ArbitrageError, `expected an ArbitrageError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return e;
  }
  assert.fail(`expected the ${code} error`);
}

describe("remote target on a real llama-server (embedded target GGUF)", () => {
  let server: RunningServer;
  let local: ArbitrageEngine;
  let remote: ArbitrageEngine;
  let openai: ArbitrageEngine;
  const localResults = new Map<string, ReasonResult>();

  before(async () => {
    server = await startLlamaServer(embeddedModelPath("target"), { alias: "arbitrage-target", exact: true });
    local = await ArbitrageEngine.create({ threads: THREADS });
    remote = await ArbitrageEngine.create({ threads: THREADS, remote: { target: { url: server.url } } });
    openai = await ArbitrageEngine.create({
      threads: THREADS,
      remote: { target: { url: `${server.url}/v1`, model: "arbitrage-target", api: "openai" } },
    });
  });
  after(async () => {
    await Promise.all([local?.dispose(), remote?.dispose(), openai?.dispose()]);
    await server?.stop();
  });

  test("the engine reports the remote target and its API dialect", () => {
    assert.deepEqual(remote.info().remote, { target: { url: server.url, model: "arbitrage-target", api: "llama.cpp" } });
    assert.deepEqual(openai.info().remote, { target: { url: server.url, model: "arbitrage-target", api: "openai" } });
    assert.deepEqual(local.info().remote, {});
    // The only warning allowed is the CPU fallback's (a machine without a GPU), which is about the local draft.
    const others = remote.warnings.filter((w) => w !== remote.info().gpu.fallbackReason);
    assert.deepEqual(others, [], "a loopback http URL is not warned about");
  });

  test("greedy target steps on the server equal the local target's, byte for byte, in both API dialects", async () => {
    for (const q of QUESTIONS) {
      const mine = await local.reason(q, { ...OPTIONS, policy: "target" });
      localResults.set(q, mine);
      const viaCompletion = await remote.reason(q, { ...OPTIONS, policy: "target" });
      const viaOpenai = await openai.reason(q, { ...OPTIONS, policy: "target" });
      assert.deepEqual(texts(viaCompletion), texts(mine), `${q} (/completion)`);
      // /v1/completions says finish_reason "stop" for the stop string and for EOS alike (llama-server sends no
      // stop_reason, vLLM does): a step that ended at EOS comes back as a step that ended at the delimiter.
      const eosAsDelimiter = texts(mine).map((t, i) => (mine.steps[i]!.endedBy === "eos" ? `${t}\n\n` : t));
      assert.deepEqual(texts(viaOpenai), eosAsDelimiter, `${q} (/v1/completions)`);
      assert.equal(viaCompletion.answer, mine.answer);
      assert.equal(viaCompletion.finishReason, mine.finishReason);
      // With token ids from the server, the committed tokens are the model's own, as a local run's.
      assert.equal(viaCompletion.stats.meters.target.committed, mine.stats.meters.target.committed, q);
    }
  });

  test("the server's prefix cache: after the first step it evaluates only the new tail of the growing prompt", async () => {
    const r = await remote.reason(QUESTIONS[0]!, { ...OPTIONS, policy: "target" });
    const calls = r.stats.remote!.target!.perCall;
    assert.equal(calls.length, r.steps.length);
    assert.equal(r.stats.remote!.target!.calls, calls.length);
    for (const [i, c] of calls.entries()) {
      assert.ok(c.processed !== null, "llama-server reports timings.prompt_n");
      if (i === 0) continue;
      // The prompt grew by the previous step; the server re-evaluates at most that step plus one token.
      const grew = c.promptTokens - calls[i - 1]!.promptTokens;
      assert.ok(c.processed! <= grew + 1, `call ${i}: ${c.processed} processed of ${c.promptTokens} sent (grew by ${grew})`);
    }
    assert.ok(r.stats.remote!.target!.promptTokensProcessed < r.stats.remote!.target!.promptTokens / 2);
  });

  test("arbitrage with a remote target: threshold 0 equals the target, 1 the draft, and any threshold equals the local engine", async () => {
    for (const q of QUESTIONS.slice(0, 3)) {
      const atZero = await remote.reason(q, { ...OPTIONS, threshold: 0 });
      assert.deepEqual(texts(atZero), texts(localResults.get(q)!), q);
      assert.equal(atZero.stats.stepsByModel.draft, 0);
      const atOne = await remote.reason(q, { ...OPTIONS, threshold: 1 });
      const draftOnly = await local.reason(q, { ...OPTIONS, policy: "draft" });
      assert.deepEqual(texts(atOne), texts(draftOnly), q);
      assert.equal(atOne.stats.remote?.target?.calls ?? 0, 0, "threshold 1 never calls the server");
      const mixedRemote = await remote.reason(q, { ...OPTIONS, threshold: 0.3 });
      const mixedLocal = await local.reason(q, { ...OPTIONS, threshold: 0.3 });
      assert.deepEqual(texts(mixedRemote), texts(mixedLocal), q);
      assert.deepEqual(
        mixedRemote.steps.map((s) => s.model),
        mixedLocal.steps.map((s) => s.model),
      );
      assert.equal(mixedRemote.stats.remote!.target!.calls, mixedRemote.stats.stepsByModel.target);
      assert.equal(mixedRemote.stats.remote!.target!.tokensSaved, mixedRemote.stats.tokensByModel.draft);
    }
  });

  test("token-level speculation with a remote target: the server writes its steps alone, with a warning, and the text is the target's", async () => {
    for (const q of QUESTIONS.slice(0, 2)) {
      const spec = await remote.reason(q, { ...OPTIONS, policy: "speculative" });
      assert.deepEqual(texts(spec), texts(localResults.get(q)!), q);
      assert.equal(spec.stats.verification.rounds, 0);
      assert.equal(spec.stats.meters.draft.evaluated, 0, "the draft proposes nothing");
      assert.equal(spec.stats.remote!.target!.calls, spec.steps.length, "one server call per step");
      assert.ok(
        spec.notices?.some((w) => /Token-level speculation is off for this request: the target runs on a server/.test(w)),
        JSON.stringify(spec.notices),
      );
      const arb = await remote.reason(q, { ...OPTIONS, threshold: 0.3, tokenSpeculation: true });
      const arbPlain = await remote.reason(q, { ...OPTIONS, threshold: 0.3 });
      assert.deepEqual(texts(arb), texts(arbPlain), q);
      assert.ok(arb.notices?.some((w) => /Token-level speculation is off/.test(w)));
    }
  });

  test("two requests at once against one server (two engines): both answers equal the sequential ones", async () => {
    const other = await ArbitrageEngine.create({ threads: THREADS, remote: { target: { url: server.url } } });
    try {
      const [a, b] = await Promise.all([
        remote.reason(QUESTIONS[1]!, { ...OPTIONS, policy: "target" }),
        other.reason(QUESTIONS[2]!, { ...OPTIONS, policy: "target" }),
      ]);
      assert.deepEqual(texts(a), texts(localResults.get(QUESTIONS[1]!)!));
      assert.deepEqual(texts(b), texts(localResults.get(QUESTIONS[2]!)!));
    } finally {
      await other.dispose();
    }
  });

  test("cancelling aborts the HTTP request: the request ends as cancelled, and the next one is whole", async () => {
    const abort = new AbortController();
    const r = await remote.reason(
      QUESTIONS[3]!,
      { ...OPTIONS, policy: "target" },
      {
        signal: abort.signal,
        onEvent: (e) => e.type === "token" && e.model === "target" && abort.abort(),
      },
    );
    assert.equal(r.finishReason, "cancelled");
    assert.equal(r.steps.length, 0);
    const again = await remote.reason(QUESTIONS[3]!, { ...OPTIONS, policy: "target" });
    assert.deepEqual(texts(again), texts(localResults.get(QUESTIONS[3]!)!));
  });

  test("an unknown model name is refused when connecting, naming the ones served", async () => {
    await expectError(
      ArbitrageEngine.create({ threads: THREADS, remote: { target: { url: server.url, model: "llama-70b" } } }),
      "remote-unknown-model",
      /does not serve a model named "llama-70b"; it serves "arbitrage-target"/,
    );
  });

  test("a server serving another model than the local file is refused (vocabulary sizes differ)", async () => {
    // The embedded draft and target share a vocabulary, so a real model's file stands in for "another model".
    const { SMOL } = await import("../real/helpers.js");
    await expectError(
      ArbitrageEngine.create({ threads: THREADS, target: SMOL(), remote: { target: { url: server.url } } }),
      "remote-unknown-model",
      /they are not the same model/,
    );
  });
});

describe("remote faults: each a clear error naming the server, no hang, the answer so far kept, the engine still usable", () => {
  let server: RunningServer;
  let proxy: FaultProxy;
  let engine: ArbitrageEngine;
  let expected: ReasonResult;
  const Q = QUESTIONS[0]!;

  before(async () => {
    server = await startLlamaServer(embeddedModelPath("target"), { exact: true });
    proxy = await startFaultProxy(server.url);
    engine = await ArbitrageEngine.create({ threads: THREADS, remote: { target: { url: proxy.url, timeoutMs: 1500 } } });
    expected = await engine.reason(Q, { ...OPTIONS, policy: "target" });
    assert.ok(expected.steps.length >= 3);
  });
  after(async () => {
    await engine?.dispose();
    await proxy?.close();
    await server?.stop();
  });

  async function faulty(fault: FaultProxy["fault"], code: string, pattern: RegExp): Promise<void> {
    proxy.calls = 0;
    proxy.fault = fault;
    const started = performance.now();
    const e = await expectError(engine.reason(Q, { ...OPTIONS, policy: "target" }), code, pattern);
    assert.ok(performance.now() - started < 10_000, "no hang");
    assert.match(e.message, new RegExp(`target server ${proxy.url.replace(/[.]/g, "\\.")}`));
    // Calls before the fault committed steps: they are kept with the error.
    assert.equal(e.partial?.steps, 1);
    assert.equal(e.partial?.text, expected.steps[0]!.text);
    proxy.fault = { kind: "none" };
    assert.deepEqual(texts(await engine.reason(Q, { ...OPTIONS, policy: "target" })), texts(expected), "the next request is whole");
  }

  test("HTTP 500", () => faulty({ kind: "http-500", fromCall: 2 }, "remote-http-error", /HTTP 500 Internal Server Error: .*injected failure/));
  test("malformed JSON in the stream", () => faulty({ kind: "malformed-json", fromCall: 2 }, "remote-bad-answer", /not JSON: \{"content": "2\+/));
  test("a truncated stream", () => faulty({ kind: "truncate", fromCall: 2 }, "remote-bad-answer", /ended before the step did/));
  test("slow beyond the timeout", () => faulty({ kind: "slow", fromCall: 2, delayMs: 4000 }, "remote-timeout", /sent nothing for 1\.5 s/));

  test("server not running: refused when connecting, after retries, in seconds", async () => {
    const port = await freePort();
    const started = performance.now();
    await expectError(
      ArbitrageEngine.create({ threads: THREADS, remote: { target: { url: `http://127.0.0.1:${port}` } } }),
      "remote-unreachable",
      new RegExp(`Cannot reach the target server http://127\\.0\\.0\\.1:${port} .*ECONNREFUSED.*Check that the server is running`),
    );
    assert.ok(performance.now() - started < 5_000);
  });

  test("the server killed mid-step: the connection error ends the request, the committed steps are kept", async () => {
    const doomed = await startLlamaServer(embeddedModelPath("target"), { exact: true });
    const e2 = await ArbitrageEngine.create({ threads: THREADS, remote: { target: { url: doomed.url } } });
    try {
      let killed = false;
      const e = await expectError(
        e2.reason(
          Q,
          { ...OPTIONS, policy: "target" },
          {
            onEvent: (ev) => {
              if (!killed && ev.type === "token" && ev.index === 1) {
                killed = true;
                doomed.process.kill("SIGKILL");
              }
            },
          },
        ),
        "remote-unreachable",
        /connection to the target server .* broke in the middle of a step|Cannot reach the target server/,
      );
      assert.equal(killed, true);
      assert.equal(e.partial?.text, expected.steps[0]!.text);
      // The engine stays usable: the next request reports the dead server the same way, at once.
      await expectError(e2.reason(Q, { ...OPTIONS, policy: "target" }), "remote-unreachable", /Cannot reach the target server/);
    } finally {
      await e2.dispose();
      await doomed.stop();
    }
  });
});

test("an API key from the environment: refused without it (HTTP 401, naming the variable), accepted with it, never in the config", async () => {
  const secured = await startLlamaServer(embeddedModelPath("target"), { exact: true, apiKey: "test-key-123" });
  const saved = process.env.ARBITRAGE_TARGET_API_KEY;
  try {
    delete process.env.ARBITRAGE_TARGET_API_KEY;
    await expectError(
      ArbitrageEngine.create({ threads: THREADS, remote: { target: { url: secured.url } } }),
      "remote-http-error",
      /HTTP 401 .*ARBITRAGE_API_KEY/,
    );
    process.env.ARBITRAGE_TARGET_API_KEY = "test-key-123";
    const e = await ArbitrageEngine.create({ threads: THREADS, remote: { target: { url: secured.url } } });
    try {
      const r = await e.reason(QUESTIONS[0]!, { ...OPTIONS, policy: "target" });
      assert.ok(r.steps.length > 0);
      assert.doesNotMatch(JSON.stringify([e.config, e.info(), r]), /test-key-123/);
    } finally {
      await e.dispose();
    }
  } finally {
    if (saved === undefined) delete process.env.ARBITRAGE_TARGET_API_KEY;
    else process.env.ARBITRAGE_TARGET_API_KEY = saved;
    await secured.stop();
  }
});

describe("remote draft: an answer without the requested logprobs", () => {
  let server: RunningServer;
  let proxy: FaultProxy;
  let engine: ArbitrageEngine;

  before(async () => {
    server = await startLlamaServer(embeddedModelPath("draft"), { exact: true });
    proxy = await startFaultProxy(server.url);
    // The confidence router needs the draft's token probabilities: a remote draft asks for logprobs.
    engine = await ArbitrageEngine.create({ threads: THREADS, router: "confidence", remote: { draft: { url: proxy.url } } });
  });
  after(async () => {
    await engine?.dispose();
    await proxy?.close();
    await server?.stop();
  });

  test("with logprobs the remote draft routes exactly as the local one", async () => {
    const local = await ArbitrageEngine.create({ threads: THREADS, router: "confidence" });
    try {
      for (const q of QUESTIONS.slice(0, 2)) {
        const here = await local.reason(q, { ...OPTIONS, threshold: 0.5 });
        const there = await engine.reason(q, { ...OPTIONS, threshold: 0.5 });
        assert.deepEqual(texts(there), texts(here));
        assert.deepEqual(
          there.steps.map((s) => s.model),
          here.steps.map((s) => s.model),
        );
        for (const [i, s] of there.steps.entries()) {
          if (s.routerScore !== undefined)
            assert.ok(
              Math.abs(s.routerScore - here.steps[i]!.routerScore!) < 1e-3,
              `${q} step ${i}: ${s.routerScore} vs ${here.steps[i]!.routerScore}`,
            );
        }
      }
    } finally {
      await local.dispose();
    }
  });

  test("through /v1/completions the logprobs route the same way (the EOS step aside: it comes back ending at the delimiter)", async () => {
    const local = await ArbitrageEngine.create({ threads: THREADS, router: "confidence" });
    const viaOpenai = await ArbitrageEngine.create({ threads: THREADS, router: "confidence", remote: { draft: { url: server.url, api: "openai" } } });
    try {
      const here = await local.reason(QUESTIONS[1]!, { ...OPTIONS, threshold: 0.5 });
      const there = await viaOpenai.reason(QUESTIONS[1]!, { ...OPTIONS, threshold: 0.5 });
      assert.deepEqual(
        there.steps.map((s) => s.model),
        here.steps.map((s) => s.model),
      );
      for (const [i, s] of here.steps.entries()) {
        if (s.endedBy === "eos") continue;
        assert.equal(there.steps[i]!.text, s.text);
        if (s.routerScore !== undefined) assert.ok(Math.abs(there.steps[i]!.routerScore! - s.routerScore) < 1e-3, `step ${i}`);
      }
    } finally {
      await Promise.all([local.dispose(), viaOpenai.dispose()]);
    }
  });

  test("an answer without them is a clear error", async () => {
    proxy.calls = 0;
    proxy.fault = { kind: "strip-logprobs", fromCall: 1 };
    await expectError(
      engine.reason(QUESTIONS[0]!, { ...OPTIONS, threshold: 0.5 }),
      "remote-bad-answer",
      /draft server .*asked for token log-probabilities \(logprobs\) and the answer has none/,
    );
    proxy.fault = { kind: "none" };
    const r = await engine.reason(QUESTIONS[0]!, { ...OPTIONS, threshold: 0.5 });
    assert.ok(r.steps.length > 0);
  });
});
