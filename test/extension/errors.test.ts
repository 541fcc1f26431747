import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ResponseError } from "vscode-languageserver/node.js";
import { ERROR_CODES } from "../../src/engine/errors.js";
import { ArbitrageError, errorFromData, isArbitrageError, RpcErrorCodes } from "../../src/protocol/index.js";
import { CancelParamsSchema, DownloadParamsSchema, LoadParamsSchema, parseParams, ReasonParamsSchema } from "../../src/server/params.js";

/**
 * One error class across the engine process boundary (the server sends `toJSON()` as the
 * JSON-RPC error's data, the host rebuilds it with `errorFromData`), and the server's params
 * schemas: each bad param is refused as InvalidParams with a message naming it and its path.
 */

/** What the host receives: the data as it comes off the wire. */
const overTheWire = (e: ArbitrageError) => errorFromData(JSON.parse(JSON.stringify(e.toJSON())));

describe("ArbitrageError across the JSON-RPC boundary", () => {
  it("comes back as the same class with its code, message and path", () => {
    const sent = new ArbitrageError("invalid-option", "Invalid threads: 0. Use a whole number from 1 to 256.", { path: ["config", "threads"] });
    const got = overTheWire(sent);
    assert.ok(got instanceof ArbitrageError);
    assert.ok(isArbitrageError(got, "invalid-option"));
    assert.equal(got.message, sent.message);
    assert.deepEqual(got.path, ["config", "threads"]);
    for (const code of ERROR_CODES) assert.ok(isArbitrageError(overTheWire(new ArbitrageError(code, `failed: ${code}`)), code), code);
  });

  it("the type guard tells codes apart and refuses look-alikes", () => {
    const e = new ArbitrageError("cancelled", "The request was cancelled.");
    assert.ok(isArbitrageError(e));
    assert.ok(isArbitrageError(e, "cancelled"));
    assert.ok(!isArbitrageError(e, "engine-crashed"));
    assert.ok(!isArbitrageError({ code: "cancelled", message: "x" }), "an object of the same shape is not the class");
    assert.ok(!isArbitrageError(new Error("cancelled")));
  });

  it("data that is not an engine error is not turned into one", () => {
    for (const data of [
      undefined,
      null,
      "internal",
      [],
      {},
      { code: "internal" },
      { message: "m" },
      { code: "engine-busy", message: "m" },
      { code: "no-such-code", message: "m" },
      { code: "internal", message: 3 },
      { code: "internal", message: "m", path: "threads" },
    ]) {
      assert.equal(errorFromData(data), null, JSON.stringify(data));
    }
  });
});

describe("engine server params", () => {
  const config = { draft: "embedded", target: "embedded" };
  function refusal(schema: Parameters<typeof parseParams>[0], params: unknown) {
    try {
      parseParams(schema, params);
    } catch (e) {
      assert.ok(e instanceof ResponseError, String(e));
      assert.equal(e.code, RpcErrorCodes.InvalidParams);
      const data = errorFromData(e.data);
      assert.ok(data, JSON.stringify(e.data));
      assert.equal(data.code, "invalid-option");
      assert.equal(data.message, e.message);
      return data;
    }
    return assert.fail(`expected ${JSON.stringify(params)} to be refused`);
  }

  const cases: [string, Parameters<typeof parseParams>[0], unknown, string[], RegExp][] = [
    ["reason without params", ReasonParamsSchema, undefined, [], /^reason: params must be an object\.$/],
    ["reason with an array", ReasonParamsSchema, [1], [], /^reason: params must be an object\.$/],
    ["reason without a question", ReasonParamsSchema, { requestId: "a", config }, ["question"], /^reason: question must be a string\.$/],
    [
      "reason with an empty requestId",
      ReasonParamsSchema,
      { requestId: "", question: "q" },
      ["requestId"],
      /^reason: requestId must be a non-empty string\.$/,
    ],
    [
      "reason with a config that is not an object",
      ReasonParamsSchema,
      { requestId: "a", question: "q", config: "nope" },
      ["config"],
      /^Invalid model configuration: "nope"\. Expected an object\.$/,
    ],
    [
      "reason with threads -1",
      ReasonParamsSchema,
      { requestId: "a", question: "q", config: { threads: -1 } },
      ["config", "threads"],
      /^Invalid threads: -1\. Use a whole number from 1 to 256\.$/,
    ],
    [
      "reason with a relative draft",
      ReasonParamsSchema,
      { requestId: "a", question: "q", config: { draft: "m.gguf" } },
      ["config", "draft"],
      /must be absolute/,
    ],
    [
      "reason with threshold 5",
      ReasonParamsSchema,
      { requestId: "a", question: "q", options: { threshold: 5 } },
      ["options", "threshold"],
      /^Invalid threshold: 5\. Use a number from 0 to 1/,
    ],
    [
      "reason with an unknown option",
      ReasonParamsSchema,
      { requestId: "a", question: "q", options: { treshold: 0.5 } },
      ["options", "treshold"],
      /^Invalid option name: "treshold"\. Known options: policy, threshold/,
    ],
    ["load without params", LoadParamsSchema, null, [], /^load: params must be an object\.$/],
    [
      "load with a bad gpu",
      LoadParamsSchema,
      { config: { gpu: "tpu" } },
      ["config", "gpu"],
      /^Invalid gpu: "tpu"\. Use one of: auto, cuda, vulkan, metal, cpu\.$/,
    ],
    ["cancel with a numeric requestId", CancelParamsSchema, { requestId: 5 }, ["requestId"], /^cancel: requestId must be a string\.$/],
    [
      "download without a folder",
      DownloadParamsSchema,
      { downloadId: "d1", uri: "hf:x/y" },
      ["dirPath"],
      /^download: downloadId, uri and dirPath must be non-empty strings\.$/,
    ],
    [
      "download with an empty uri",
      DownloadParamsSchema,
      { downloadId: "d1", uri: "", dirPath: "/tmp" },
      ["uri"],
      /^download: downloadId, uri and dirPath must be non-empty strings\.$/,
    ],
  ];
  for (const [name, schema, params, path, message] of cases) {
    it(`${name}: InvalidParams at ${JSON.stringify(path)}`, () => {
      const e = refusal(schema, params);
      assert.deepEqual(e.path, path);
      assert.match(e.message, message);
    });
  }

  it("valid params round-trip, with the engine's defaults filled in", () => {
    const r = parseParams(ReasonParamsSchema, {
      requestId: "r1",
      question: "Q: 1+1",
      config: { ...config, threads: 2 },
      options: { threshold: 0.4, router: "/m/r.gguf" },
    });
    assert.equal(r.requestId, "r1");
    assert.equal(r.question, "Q: 1+1");
    assert.equal(r.config.threads, 2);
    assert.equal(r.config.contextSize, 4096);
    assert.equal(r.options.threshold, 0.4);
    assert.deepEqual(r.options.router, { path: "/m/r.gguf" });
    assert.deepEqual(parseParams(CancelParamsSchema, undefined), {}, "no params cancel everything");
    assert.deepEqual(parseParams(CancelParamsSchema, { requestId: "r1" }), { requestId: "r1" });
    assert.deepEqual(parseParams(DownloadParamsSchema, { downloadId: "d", uri: "u", dirPath: "/p" }), { downloadId: "d", uri: "u", dirPath: "/p" });
  });
});
