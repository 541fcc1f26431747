/**
 * The panel reducer (src/protocol/panel-state.ts), which the extension host's panel mirror, the
 * chat runs' mirrors and the webview all use, on host → webview messages recorded from real runs
 * of the engine on the embedded pair (test/fixtures/panel-messages.json, written by
 * test/fixtures/record-panel-messages.ts).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { EngineEvent, ReasonResult } from "../../src/engine/types.js";
import {
  applyEngineEvent,
  emptyPanelState,
  isRunning,
  reducePanel,
  type HostToWebview,
  type PanelState,
  type RunInfo,
} from "../../src/protocol/panel-state.js";

type Scenario = { description: string; messages: HostToWebview[] };
const recorded = JSON.parse(readFileSync(new URL("../fixtures/panel-messages.json", import.meta.url), "utf8")) as Record<string, Scenario>;

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** Folds the messages as the host and the webview do; every input is frozen, so any mutation throws. */
function fold(messages: HostToWebview[], from: PanelState = emptyPanelState()): PanelState {
  return messages.reduce((s, m) => reducePanel(s, deepFreeze(structuredClone(m))), deepFreeze(from));
}

function scenario(name: string): HostToWebview[] {
  const s = recorded[name];
  assert.ok(s, `no recorded scenario ${name}`);
  return s.messages;
}

function eventsOf(messages: HostToWebview[], runId: string): EngineEvent[] {
  return messages.flatMap((m) => (m.type === "engine-event" && m.runId === runId ? [m.event] : []));
}

function runOf(messages: HostToWebview[], runId: string): RunInfo {
  const m = messages.find((x) => x.type === "run-started" && x.run.runId === runId);
  assert.ok(m && m.type === "run-started", `no run-started for ${runId}`);
  return m.run;
}

function resultOf(messages: HostToWebview[], runId: string): ReasonResult {
  const f = eventsOf(messages, runId).find((e) => e.type === "finished");
  assert.ok(f && f.type === "finished", `no finished event for ${runId}`);
  return f.result;
}

function discardedOf(messages: HostToWebview[], runId: string) {
  return eventsOf(messages, runId).flatMap((e) =>
    e.type === "step-discarded" ? [{ index: e.index, model: e.model, text: e.text, reason: e.reason }] : [],
  );
}

const kind = (m: HostToWebview) => (m.type === "engine-event" ? m.event.type : m.type);

function lastTargetSpeed(messages: HostToWebview[]): number | null {
  const m = messages.filter((x) => x.type === "target-speed").at(-1);
  return m && m.type === "target-speed" ? m.msPerToken : null;
}

describe("panel reducer on recorded runs", () => {
  it("a finished run: the state holds the engine's steps, discarded drafts, result and the measured target speed", () => {
    const messages = scenario("finished");
    const state = fold(messages);
    const result = resultOf(messages, "run-finished");
    assert.ok(new Set(result.steps.map((s) => s.model)).size === 2, "the recording has steps of both models");
    assert.deepEqual(state.run, runOf(messages, "run-finished"));
    assert.deepEqual(state.steps, result.steps);
    const discarded = discardedOf(messages, "run-finished");
    assert.ok(discarded.length > 0, "the recording has discarded drafts");
    assert.deepEqual(state.discarded, discarded);
    assert.deepEqual(state.result, result);
    assert.equal(state.error, null);
    assert.equal(state.targetMsPerToken, lastTargetSpeed(messages));
    assert.equal(isRunning(state), false);
  });

  it("while streaming, the state is running and holds exactly the steps decided so far", () => {
    const messages = scenario("finished");
    let state = emptyPanelState();
    for (const m of messages) {
      state = reducePanel(state, m);
      if (m.type === "engine-event" && m.event.type !== "finished") {
        assert.equal(isRunning(state), true);
        const decided = eventsOf(messages.slice(0, messages.indexOf(m) + 1), "run-finished").filter((e) => e.type === "step-decided");
        assert.equal(state.steps.length, decided.length);
      }
    }
  });

  it("token, step-started, run-started (engine) and status messages return the same state object (nothing to save)", () => {
    const messages = scenario("finished");
    let state = reducePanel(emptyPanelState(), messages[0]!);
    let unchanged = 0;
    for (const m of messages.slice(1)) {
      const next = reducePanel(state, m);
      const passive = m.type === "engine-event" && (m.event.type === "token" || m.event.type === "step-started" || m.event.type === "run-started");
      if (passive) {
        assert.equal(next, state, `${kind(m)} changed the state`);
        unchanged++;
      } else {
        assert.notEqual(next, state, `${kind(m)} did not produce a new state`);
      }
      state = next;
    }
    assert.ok(unchanged > 10, "the recording streams tokens");
    assert.equal(reducePanel(state, { type: "status", text: "Finished: final-answer." }), state);
  });

  it("a run stopped mid-step: finished as cancelled with the whole steps only, the cut draft discarded", () => {
    const messages = scenario("cancelled");
    const state = fold(messages);
    const result = resultOf(messages, "run-cancelled");
    assert.equal(result.finishReason, "cancelled");
    assert.deepEqual(state.steps, result.steps);
    assert.deepEqual(state.result, result);
    assert.ok(
      state.discarded.some((d) => d.reason === "cancelled"),
      JSON.stringify(state.discarded),
    );
    assert.equal(isRunning(state), false);
  });

  it("a run the engine refuses: the error is kept, no steps, no result", () => {
    const messages = scenario("failed");
    const state = fold(messages);
    const failed = messages.find((m) => m.type === "run-failed");
    assert.ok(failed && failed.type === "run-failed");
    assert.equal(failed.error.code, "question-too-long");
    assert.deepEqual(state.error, failed.error);
    assert.deepEqual(state.steps, []);
    assert.equal(state.result, null);
    assert.equal(isRunning(state), false);
  });

  it("re-runs: the replaced runs' late events and failures leave no trace; the state equals the last run's alone", () => {
    const messages = scenario("restarted");
    const state = fold(messages);
    // The recording really interleaves: A streams after C started, and B fails after that.
    const startedC = messages.findIndex((m) => m.type === "run-started" && m.run.runId === "run-c");
    assert.ok(
      messages.slice(startedC).some((m) => m.type === "engine-event" && m.runId === "run-a"),
      "A's events after C started",
    );
    assert.ok(
      messages.slice(startedC).some((m) => m.type === "run-failed" && m.runId === "run-b"),
      "B's failure after C started",
    );
    const onlyC = fold(
      messages.filter((m) => (m.type === "run-started" ? m.run.runId === "run-c" : m.type === "engine-event" && m.runId === "run-c")),
    );
    assert.deepEqual({ ...state, targetMsPerToken: null }, onlyC);
    assert.deepEqual(state.steps, resultOf(messages, "run-c").steps);
    assert.equal(state.error, null, "B's cancellation is not C's error");
    assert.equal(state.targetMsPerToken, lastTargetSpeed(messages), "the measured target speed survives re-runs");
  });

  it("run-started keeps only the measured target speed; restore replaces the whole state", () => {
    const finished = fold(scenario("finished"));
    const run: RunInfo = { ...finished.run!, runId: "next" };
    assert.deepEqual(reducePanel(finished, { type: "run-started", run }), { ...emptyPanelState(), run, targetMsPerToken: finished.targetMsPerToken });
    const failed = fold(scenario("failed"));
    assert.equal(reducePanel(failed, { type: "restore", state: finished }), finished);
  });

  it("the chat mirror (applyEngineEvent on the events alone) ends in the panel's state for the same run", () => {
    const messages = scenario("finished");
    const panel = fold(messages);
    const start = reducePanel(emptyPanelState(), messages[0]!);
    const mirror = eventsOf(messages, "run-finished").reduce((s, e) => applyEngineEvent(s, deepFreeze(e)), deepFreeze(start));
    assert.deepEqual({ ...mirror, targetMsPerToken: panel.targetMsPerToken }, panel);
  });
});
