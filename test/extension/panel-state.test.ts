// The host's checks of what the webview sends back (both untrusted): coerceState (the state the
// panel serializer hands back after a reload) and parseWebviewMessage (every webview message).
// A real run of the engine on the embedded models gives the state a panel holds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { coerceState, emptyPanelState, parseWebviewMessage, type PanelState } from "../../src/protocol/index.js";
import { sharedEngine } from "../engine/helpers.js";

const engine = sharedEngine();

async function realState(): Promise<PanelState> {
  const result = await engine().reason("(12+7)*3-5", { maxSteps: 12 });
  return {
    version: 1,
    run: { runId: "run-1", question: result.question, policy: result.policy, threshold: result.threshold, pair: "embedded demo pair", startedAt: 1 },
    steps: result.steps,
    discarded: [{ index: 0, model: "draft", text: "12+7=18\n\n", reason: "router" }],
    result,
    error: null,
    targetMsPerToken: 0.42,
  };
}

test("coerceState keeps a real run's state whole, through a JSON round trip as the webview stores it", async () => {
  const state = await realState();
  assert.ok(state.steps.length > 1);
  const stored = JSON.parse(JSON.stringify(state)) as PanelState;
  assert.deepEqual(coerceState(stored), stored);
});

test("coerceState: anything but a version-1 object is an empty panel", () => {
  for (const saved of [undefined, null, 0, "state", [], {}, { version: 2, steps: [] }, { version: "1" }]) {
    assert.deepEqual(coerceState(saved), emptyPanelState(), JSON.stringify(saved));
  }
});

test("coerceState drops malformed parts and keeps the well-formed ones", async () => {
  const state = await realState();
  const good = state.steps[0]!;
  const saved = {
    ...state,
    run: { runId: 7, question: "q" },
    steps: [good, null, "text", { index: "0", text: "x" }, { index: 1 }],
    discarded: [state.discarded[0], 5, { text: 3 }],
    result: { steps: "not an array" },
    error: { code: "internal" },
    targetMsPerToken: "fast",
  };
  const s = coerceState(saved);
  assert.equal(s.run, null, "a run without a string runId is dropped");
  assert.deepEqual(s.steps, [good]);
  assert.deepEqual(s.discarded, [state.discarded[0]]);
  assert.equal(s.result, null);
  assert.equal(s.error, null);
  assert.equal(s.targetMsPerToken, null);
  const failed = coerceState({ version: 1, error: { code: "engine-crashed", message: "stopped" } });
  assert.deepEqual(failed.error, { code: "engine-crashed", message: "stopped" });
});

test("parseWebviewMessage accepts the five messages and returns only their known fields", () => {
  assert.deepEqual(parseWebviewMessage({ type: "ready" }), { type: "ready" });
  assert.deepEqual(parseWebviewMessage({ type: "stop", extra: "<script>" }), { type: "stop" });
  assert.deepEqual(parseWebviewMessage({ type: "show-log" }), { type: "show-log" });
  assert.deepEqual(parseWebviewMessage({ type: "rerun", threshold: 0.3, question: "other" }), { type: "rerun", threshold: 0.3 });
  assert.deepEqual(parseWebviewMessage({ type: "rerun", threshold: 0 }), { type: "rerun", threshold: 0 });
  assert.deepEqual(parseWebviewMessage({ type: "rerun", threshold: 1 }), { type: "rerun", threshold: 1 });
  // A code block's button names the block by its index; code sent along is dropped, never used.
  assert.deepEqual(parseWebviewMessage({ type: "code-block", action: "apply", block: 2, code: "rm -rf /" }), {
    type: "code-block",
    action: "apply",
    block: 2,
  });
  for (const action of ["copy", "insert"])
    assert.deepEqual(parseWebviewMessage({ type: "code-block", action, block: 0 }), { type: "code-block", action, block: 0 });
});

test("parseWebviewMessage rejects unknown types, non-objects and out-of-range thresholds", () => {
  const bad: unknown[] = [
    null,
    undefined,
    "ready",
    1,
    [],
    {},
    { type: 1 },
    { type: "READY" },
    { type: "rerun" },
    { type: "rerun", threshold: "0.3" },
    { type: "rerun", threshold: -0.01 },
    { type: "rerun", threshold: 1.01 },
    { type: "rerun", threshold: Number.NaN },
    { type: "rerun", threshold: Number.POSITIVE_INFINITY },
    { type: "__proto__" },
    { type: "toString" },
    { type: "restore", state: {} },
    { type: "code-block", action: "run", block: 0 },
    { type: "code-block", action: "apply" },
    { type: "code-block", action: "apply", block: -1 },
    { type: "code-block", action: "apply", block: 1.5 },
    { type: "code-block", action: "apply", block: "0" },
  ];
  for (const m of bad) assert.equal(parseWebviewMessage(m), null, String(JSON.stringify(m)));
});
