import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ArbitrageError, validateModelConfig } from "../../src/engine/index.js";
import { apiKeyFor, normaliseUrl, plainHttpWarning } from "../../src/engine/remote/endpoint.js";

/** Remote model settings: what is accepted, what is refused and why (no server needed). */
describe("remote model settings", () => {
  const refused = (remote: unknown, pattern: RegExp) =>
    assert.throws(
      () => validateModelConfig({ remote }),
      (e: unknown) => e instanceof ArbitrageError && e.code === "invalid-option" && pattern.test(e.message),
    );

  test("a URL, model name, timeout and API dialect are accepted per role", () => {
    const c = validateModelConfig({
      remote: { target: { url: "https://gpu.example:8000/v1", model: "qwen-72b", timeoutMs: 30_000, api: "openai" } },
    });
    assert.deepEqual(c.remote, { target: { url: "https://gpu.example:8000/v1", model: "qwen-72b", timeoutMs: 30_000, api: "openai" } });
    assert.equal(validateModelConfig({}).remote, undefined);
  });

  test("bad values are refused with the setting named", () => {
    refused({ target: { url: "gpu-box:8080" } }, /target server URL: "gpu-box:8080"\. Use the server's http:\/\/ or https:\/\//);
    refused({ target: { url: "ftp://x" } }, /target server URL/);
    refused({ draft: { url: "http://127.0.0.1:1", timeoutMs: 5 } }, /draft server timeout \(ms\): 5\. Use a whole number from 100/);
    refused({ target: { url: "http://127.0.0.1:1", api: "grpc" } }, /target server API: "grpc"\. Use one of: auto, openai, llama\.cpp/);
    refused(
      { target: { url: "http://127.0.0.1:1", key: "x" } },
      /remote target setting name: "key"\. Known remote target settings: url, model, timeoutMs, api/,
    );
    refused({ judge: { url: "http://127.0.0.1:1" } }, /remote model role name: "judge"\. Known remote model roles: draft, target/);
  });

  test("credentials in a URL are refused without echoing them", () => {
    assert.throws(
      () => validateModelConfig({ remote: { target: { url: "https://me:hunter2@gpu.example" } } }),
      (e: unknown) => e instanceof ArbitrageError && /ARBITRAGE_API_KEY/.test(e.message) && !e.message.includes("hunter2"),
    );
  });

  test("plain http to a non-loopback host is warned about; loopback and https are not", () => {
    assert.match(plainHttpWarning("target", "http://10.0.0.5:8000")!, /The target server http:\/\/10\.0\.0\.5:8000 is reached over plain http/);
    assert.equal(plainHttpWarning("target", "http://127.0.0.1:8080"), null);
    assert.equal(plainHttpWarning("target", "http://localhost:8080"), null);
    assert.equal(plainHttpWarning("draft", "https://gpu.example"), null);
  });

  test("the API key comes from the role's variable, else ARBITRAGE_API_KEY; URLs are normalised", () => {
    assert.equal(apiKeyFor("target", { ARBITRAGE_TARGET_API_KEY: "t", ARBITRAGE_API_KEY: "a" }), "t");
    assert.equal(apiKeyFor("draft", { ARBITRAGE_TARGET_API_KEY: "t", ARBITRAGE_API_KEY: "a" }), "a");
    assert.equal(apiKeyFor("draft", {}), undefined);
    assert.equal(normaliseUrl("http://h:1/v1/"), "http://h:1");
    assert.equal(normaliseUrl("http://h:1/"), "http://h:1");
  });
});
