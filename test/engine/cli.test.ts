import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { defaultReasonOptions, embeddedModelPath } from "../../src/engine/index.js";
import { makeBadModels, type BadModels } from "../fixtures/bad-models.js";

/** The built CLI, run as a user runs it (bin/arbitrage.mjs → dist/cli.mjs), on the real embedded models. */
const BIN = resolve(import.meta.dirname, "../../bin/arbitrage.mjs");

function cli(args: string[], asUser?: number) {
  const command = asUser === undefined ? process.execPath : "setpriv";
  const argv = asUser === undefined ? [BIN, ...args] : [`--reuid=${asUser}`, `--regid=${asUser}`, "--clear-groups", process.execPath, BIN, ...args];
  const r = spawnSync(command, argv, { encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLineError(args: string[], pattern: RegExp, asUser?: number) {
  const r = cli(args, asUser);
  assert.notEqual(r.code, 0, `exit code for ${args.join(" ")}`);
  const lines = r.stderr
    .trim()
    .split("\n")
    .filter((l) => !l.startsWith("arbitrage: warning"));
  assert.equal(lines.length, 1, `one line of error, got: ${r.stderr}`);
  assert.match(lines[0]!, /^arbitrage: error: /);
  assert.match(lines[0]!, pattern);
  assert.equal(r.stdout, "", "nothing on stdout");
}

describe("arbitrage CLI", () => {
  let dir: string;
  let bad: BadModels;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "arbitrage-cli-"));
    bad = makeBadModels(join(dir, "bad"), embeddedModelPath("draft"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("answers an embedded-task question offline and prints exactly one JSON object", () => {
    const r = cli(["reason", "--json", "(12+7)*3-5"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.question, "(12+7)*3-5");
    assert.equal(out.policy, "arbitrage");
    assert.equal(out.threshold, defaultReasonOptions().threshold);
    assert.ok(out.steps.length >= 2);
    for (const s of out.steps) {
      assert.ok(s.model === "draft" || s.model === "target");
      assert.equal(typeof s.text, "string");
      assert.equal(typeof s.tokens, "number");
      assert.equal(typeof s.ms, "number");
      assert.equal(typeof s.routerScore, "number");
    }
    assert.equal(out.text, out.steps.map((s: { text: string }) => s.text).join(""));
    assert.ok(["final-answer", "eos", "max-steps", "context-full"].includes(out.finishReason));
    assert.equal(typeof out.stats.wallMs, "number");
  });

  it("streams coloured-by-model steps, then the answer and stats, without --json", () => {
    const r = cli(["reason", "--policy", "target", "48-19+7*6"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[1 target\] /);
    assert.match(r.stdout, /Answer: 71/);
    assert.match(r.stdout, /steps \d+ \(draft 0, target \d+/);
  });

  it("--policy speculative and --token-spec: the target's text, and the acceptance of the draft's proposals in the summary and the JSON", () => {
    const target = JSON.parse(cli(["reason", "--json", "--policy", "target", "48-19+7*6"]).stdout);
    const spec = cli(["reason", "--policy", "speculative", "--draft-tokens", "2", "48-19+7*6"]);
    assert.equal(spec.code, 0, spec.stderr);
    assert.match(spec.stdout, /Answer: 71/);
    assert.match(spec.stdout, /target batch checks: \d+ rounds, (\d+)\/(\d+) proposed tokens kept \(\d+% accepted\)/);
    const json = JSON.parse(cli(["reason", "--json", "--policy", "speculative", "--draft-tokens", "2", "48-19+7*6"]).stdout);
    assert.equal(json.text, target.text);
    assert.ok(json.stats.verification.freshProposed > 0 && json.stats.verification.freshProposed <= 2 * json.stats.verification.rounds);
    const arb = JSON.parse(cli(["reason", "--json", "--threshold", "0.5", "--token-spec", "48-19+7*6"]).stdout);
    const arbPlain = JSON.parse(cli(["reason", "--json", "--threshold", "0.5", "48-19+7*6"]).stdout);
    assert.equal(arb.text, arbPlain.text);
    expectOneLineError(
      ["reason", "--policy", "speculative", "--draft-tokens", "0", "1+2"],
      /Invalid draftTokens: 0\. Use a whole number from 1 to 64\./,
    );
  });

  it("warns on stderr about a question outside the embedded models' family, and marks the answer", () => {
    const r = cli(["reason", "--threads", "1", "999*999"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^arbitrage: warning: 999\*999 is outside what the embedded demo models were trained on/m);
    assert.match(r.stdout, /Answer: .* \(not to be trusted: see the warning above\)/);
    const json = cli(["reason", "--json", "--threads", "1", "999*999"]);
    assert.match(JSON.parse(json.stdout).warnings[0], /outside what the embedded demo models were trained on/);
    const inFamily = cli(["reason", "--threads", "1", "12+7"]);
    assert.doesNotMatch(inFamily.stderr + inFamily.stdout, /outside what|not to be trusted/);
  });

  it("names each bad model file and what to do", () => {
    expectOneLineError(["reason", "--draft", bad.missing, "1+2"], /Draft model .*no-such-model\.gguf.*file not found/);
    expectOneLineError(["reason", "--target", bad.directory, "1+2"], /Target model .*is a directory/);
    expectOneLineError(["reason", "--draft", bad.random, "1+2"], /is not a GGUF file/);
    expectOneLineError(["reason", "--draft", bad.empty, "1+2"], /the file is empty/);
    expectOneLineError(["reason", "--draft", bad.truncated, "1+2"], /truncated/);
    expectOneLineError(["reason", "--draft", bad.f64Tensor, "1+2"], /type F64, which llama\.cpp cannot evaluate/);
    expectOneLineError(["reason", "--draft", bad.notLlm, "1+2"], /not a language model/);
    expectOneLineError(["reason", "--router", bad.random, "1+2"], /Router model .*not a GGUF file/);
  });

  it("reports an unreadable model file", () => {
    const file = join(dir, "locked.gguf");
    writeFileSync(file, "GGUF");
    chmodSync(file, 0o000);
    // root reads anything, so the check runs as an unprivileged user when the tests run as root.
    const asUser = process.getuid?.() === 0 ? 65534 : undefined;
    chmodSync(dir, 0o755);
    expectOneLineError(["reason", "--draft", file, "1+2"], /cannot be read \(permission denied\)/, asUser);
  });

  it("rejects bad request options with the allowed range", () => {
    for (const t of ["1.5", "-0.1", "NaN", "abc"]) {
      expectOneLineError(["reason", "--threshold", t, "1+2"], /Invalid threshold: .*Use a number from 0 to 1/);
    }
    expectOneLineError(
      ["reason", "--policy", "fastest", "1+2"],
      /Invalid policy: "fastest"\. Use one of: auto, arbitrage, rsd, oracle, target, draft/,
    );
    expectOneLineError(["reason", "--max-steps", "0", "1+2"], /Invalid maxSteps: 0/);
    expectOneLineError(["reason", "--max-steps", "99999999", "1+2"], /Invalid maxSteps/);
  });

  it("rejects empty, whitespace, off-task and over-long questions", () => {
    expectOneLineError(["reason", ""], /question is empty/);
    expectOneLineError(["reason", "   \n "], /question is empty/);
    expectOneLineError(["reason", "Write me a poem"], /embedded demo models only solve integer arithmetic/);
    expectOneLineError(
      ["reason", Array.from({ length: 200 }, (_, i) => i + 1).join("+")],
      /question takes \d+ tokens, but the \w+ model's context holds 256/,
    );
  });
});
