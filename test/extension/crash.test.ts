// describeCrash: the message the user sees when the engine process dies, per cause.
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeCrash, type ExitInfo } from "../../src/extension/crash.js";

const exit = (over: Partial<ExitInfo>): ExitInfo => ({ pid: 42, code: null, signal: null, stderrTail: "", at: 0, expected: false, ...over });
const RESTART = "The engine is being restarted; the request was lost and can be run again.";

test("a SIGKILL without engine output: killed from outside", () => {
  assert.equal(
    describeCrash(exit({ signal: "SIGKILL" })),
    `The Arbitrage engine process stopped unexpectedly (killed by signal SIGKILL). The process was killed from outside (out of memory or a manual kill). ${RESTART}`,
  );
});

test("a native abort or segfault without output points at the model files", () => {
  for (const signal of ["SIGABRT", "SIGSEGV"] as const) {
    const m = describeCrash(exit({ signal }));
    assert.match(m, new RegExp(`killed by signal ${signal}\\)\\. llama\\.cpp aborted natively`));
    assert.match(m, /check the draft\/target\/router paths in the Arbitrage settings/);
  }
});

test("the last non-blank line the engine wrote names the cause (ggml's abort line), whatever the signal", () => {
  const tail = "llama_model_load: loading\r\n/src/ggml.c:1234: GGML_ASSERT(type != GGML_TYPE_F64) failed\n\n   \n";
  assert.equal(
    describeCrash(exit({ signal: "SIGABRT", stderrTail: tail })),
    `The Arbitrage engine process stopped unexpectedly (killed by signal SIGABRT). Last engine output: "/src/ggml.c:1234: GGML_ASSERT(type != GGML_TYPE_F64) failed". ${RESTART}`,
  );
  assert.match(describeCrash(exit({ signal: "SIGKILL", stderrTail: "oom\n" })), /Last engine output: "oom"\./);
});

test("an exit code without a signal or output is reported as such; a long line is cut at 300 characters", () => {
  assert.equal(describeCrash(exit({ code: 3 })), `The Arbitrage engine process stopped unexpectedly (exited with code 3). ${RESTART}`);
  const m = describeCrash(exit({ code: 1, stderrTail: "x".repeat(1000) }));
  assert.ok(m.includes(`"${"x".repeat(300)}"`) && !m.includes("x".repeat(301)), m.length.toString());
});
