// Engine-server protocol tests (plain Node, no VS Code): forks dist/server.mjs exactly as the
// extension does (Node IPC, `--node-ipc`) and writes raw JSON-RPC messages to it, including
// malformed and unknown ones. Every bad message must get an error reply and the server must keep
// serving. With the embedded models present, a real reason request and a cancel also run; then
// arbitrage/download against a local mirror of the model hub.
// Run: node --test extension-tests/server-protocol.test.mjs   (after `node esbuild.mjs`)
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startModelMirror } from "./lib/model-mirror.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const serverPath = join(root, "dist", "server.mjs");
// ARBITRAGE_TEST_CONFIG (JSON) overrides the model config, e.g. other model files while debugging.
const configOverride = JSON.parse(process.env.ARBITRAGE_TEST_CONFIG ?? "{}");
const needed = ["draft", "target", "router"].filter((m) => !(m in configOverride) || configOverride[m] === "embedded");
const haveModels = needed.every((m) => existsSync(join(root, "models", `${m}.gguf`)));
const THREADS = Number(process.env.ARBITRAGE_TEST_THREADS ?? 1);
// Router calibrations go to a fresh folder (the extension points the server at its global storage the same way).
const calibrations = mkdtempSync(join(tmpdir(), "arbitrage-server-calibrations-"));
process.env.ARBITRAGE_CALIBRATIONS = calibrations;

function startServer() {
  const child = fork(serverPath, ["--node-ipc"], { stdio: ["ignore", "pipe", "pipe", "ipc"], execArgv: [] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  const waiting = new Map();
  const nullReplies = [];
  const notifications = [];
  let nextId = 1;
  child.on("message", (m) => {
    if (m && typeof m === "object" && "id" in m && ("result" in m || "error" in m)) {
      if (m.id === null) nullReplies.push(m);
      const w = waiting.get(m.id);
      if (w) {
        waiting.delete(m.id);
        w(m);
      }
    } else if (m && typeof m === "object" && typeof m.method === "string") {
      notifications.push(m);
    }
  });
  const reply = (id, ms = 20_000) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no reply to id ${id} within ${ms} ms; stderr: ${stderr}`)), ms);
      waiting.set(id, (m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  return {
    child,
    notifications,
    nullReplies,
    get stderr() {
      return stderr;
    },
    send: (raw) => child.send(raw),
    request(method, params, ms) {
      const id = nextId++;
      const p = reply(id, ms);
      child.send({ jsonrpc: "2.0", id, method, params });
      return p.then((m) => ({ ...m, sentId: id }));
    },
    /** Sends a raw message carrying `id` and waits for the reply with that id. */
    raw(msg, id, ms) {
      const p = reply(id, ms);
      child.send(msg);
      return p;
    },
    waitForNullReply(count, ms = 5000) {
      return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const tick = () => {
          if (nullReplies.length >= count) return resolve(nullReplies.slice());
          if (Date.now() - t0 > ms) return reject(new Error(`only ${nullReplies.length}/${count} null-id error replies`));
          setTimeout(tick, 20);
        };
        tick();
      });
    },
  };
}

function embeddedConfig() {
  return {
    draft: "embedded",
    target: "embedded",
    router: "embedded",
    scorer: "embedded",
    gpu: "cpu",
    gpuLayers: "auto",
    threads: THREADS,
    contextSize: 2048,
    ...configOverride,
  };
}

let s;
before(async () => {
  assert.ok(existsSync(serverPath), `${serverPath} missing: run node esbuild.mjs first`);
  s = startServer();
  const init = await s.request("initialize", { processId: process.pid, rootUri: null, capabilities: {} });
  assert.equal(init.error, undefined);
  s.send({ jsonrpc: "2.0", method: "initialized", params: {} });
});

after(() => {
  s?.child.kill("SIGKILL");
  rmSync(calibrations, { recursive: true, force: true });
});

async function assertServing() {
  const st = await s.request("arbitrage/status");
  assert.equal(st.error, undefined, JSON.stringify(st.error));
  assert.equal(st.result.pid, s.child.pid);
  return st.result;
}

test("status answers", async () => {
  const st = await assertServing();
  assert.equal(st.protocolVersion, 3);
  assert.equal(st.loaded, null);
});

test("unknown request method gets MethodNotFound and the server keeps serving", async () => {
  const r = await s.request("arbitrage/doesNotExist", { x: 1 });
  assert.equal(r.error.code, -32601);
  await assertServing();
});

test("malformed messages get an Invalid Request reply and the server keeps serving", async () => {
  const before = s.nullReplies.length;
  for (const junk of ["hello", 42, [1, 2, 3], { foo: 1 }, null, { jsonrpc: "2.0", method: "" }]) s.send(junk);
  await s.waitForNullReply(before + 6);
  for (const m of s.nullReplies.slice(before)) assert.equal(m.error.code, -32600);
  const bad = await s.raw({ jsonrpc: "2.0", id: 9001, result: undefined, method: 17 }, 9001);
  assert.equal(bad.error.code, -32600);
  const noMethod = await s.raw({ jsonrpc: "2.0", id: 9002, params: {} }, 9002);
  assert.equal(noMethod.error.code, -32600);
  await assertServing();
});

test("reason with invalid params replies InvalidParams naming the problem", async () => {
  const cases = [
    [undefined, /params/],
    [{ requestId: "a", config: embeddedConfig(), options: {} }, /question must be a string/],
    [{ requestId: "", question: "q", config: embeddedConfig(), options: {} }, /requestId/],
    [{ requestId: "a", question: "q", config: "nope", options: {} }, /model configuration/],
    [{ requestId: "a", question: "q", config: embeddedConfig(), options: { threshold: 5 } }, /threshold/],
    [{ requestId: "a", question: "q", config: embeddedConfig(), options: { threshold: "high" } }, /threshold/],
    [{ requestId: "a", question: "q", config: embeddedConfig(), options: { threshold: null } }, /threshold/],
    [{ requestId: "a", question: "q", config: embeddedConfig(), options: { policy: "bogus" } }, /policy/],
    [{ requestId: "a", question: "q", config: embeddedConfig(), options: { maxSteps: 0 } }, /maxSteps/],
    [{ requestId: "a", question: "q", config: { ...embeddedConfig(), threads: -1 }, options: {} }, /threads/],
    [{ requestId: "a", question: "q", config: { ...embeddedConfig(), draft: "relative/model.gguf" }, options: {} }, /absolute/],
  ];
  for (const [params, re] of cases) {
    const r = await s.request("arbitrage/reason", params);
    assert.ok(r.error, `expected an error for ${JSON.stringify(params)}`);
    assert.equal(r.error.code, -32602, JSON.stringify(r.error));
    assert.match(r.error.message, re);
    if (params !== undefined) assert.equal(r.error.data.code, "invalid-option");
  }
  // The path crosses the boundary with the code, so a client maps it without reading the message.
  const t = await s.request("arbitrage/reason", { requestId: "a", question: "q", config: { ...embeddedConfig(), threads: -1 }, options: {} });
  assert.deepEqual(t.error.data, { code: "invalid-option", message: t.error.message, path: ["config", "threads"] });
  await assertServing();
});

test("a missing model file is reported with a clear engine error", async () => {
  const config = { ...embeddedConfig(), draft: "/nonexistent/dir/draft.gguf" };
  const r = await s.request("arbitrage/reason", { requestId: "missing", question: "Q: 1+1", config, options: {} });
  assert.ok(r.error);
  assert.equal(r.error.code, -32001);
  assert.equal(r.error.data.code, "model-missing");
  assert.match(r.error.message, /nonexistent/);
  await assertServing();
});

test("cancel with no running request cancels nothing", async () => {
  const r = await s.request("arbitrage/cancel", {});
  assert.deepEqual(r.result, { cancelled: 0 });
});

test("reason on the embedded pair streams step events and returns routed steps", { skip: !haveModels && "models/*.gguf not present" }, async () => {
  s.notifications.length = 0;
  const r = await s.request(
    "arbitrage/reason",
    { requestId: "real-1", question: "Q: 12*7+5", config: embeddedConfig(), options: { maxSteps: 12 } },
    120_000,
  );
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  const result = r.result;
  assert.ok(result.steps.length > 0);
  for (const step of result.steps) {
    assert.ok(step.model === "draft" || step.model === "target");
    assert.equal(typeof step.routerScore, "number");
  }
  const events = s.notifications.filter((n) => n.method === "arbitrage/event" && n.params.requestId === "real-1").map((n) => n.params.event);
  const decided = events.filter((e) => e.type === "step-decided");
  assert.equal(decided.length, result.steps.length);
  assert.ok(events.some((e) => e.type === "finished"));
  const st = await assertServing();
  assert.deepEqual(st.loaded, embeddedConfig());
});

test("$/cancelRequest stops a running reason request", { skip: !haveModels && "models/*.gguf not present" }, async () => {
  s.notifications.length = 0;
  const id = 7001;
  const p = s.raw(
    {
      jsonrpc: "2.0",
      id,
      method: "arbitrage/reason",
      params: { requestId: "cancel-1", question: "Q: 98*76+54*32-10", config: embeddedConfig(), options: { policy: "target", maxSteps: 200 } },
    },
    id,
    60_000,
  );
  // Cancel as soon as the first token streams.
  const t0 = Date.now();
  while (!s.notifications.some((n) => n.method === "arbitrage/event" && n.params.event.type === "token") && Date.now() - t0 < 30_000) {
    await new Promise((r) => setTimeout(r, 5));
  }
  s.send({ jsonrpc: "2.0", method: "$/cancelRequest", params: { id } });
  const tc = Date.now();
  const r = await p;
  assert.ok(Date.now() - tc < 2000, "cancel took longer than 2 s");
  if (r.error) {
    assert.equal(r.error.code, -32800);
  } else {
    assert.equal(r.result.finishReason, "cancelled");
  }
  await assertServing();
});

test(
  "a queued request can be cancelled before it starts; the running one completes",
  { skip: !haveModels && "models/*.gguf not present" },
  async () => {
    const a = s.request(
      "arbitrage/reason",
      { requestId: "q-a", question: "Q: 98*76+54*32-10", config: embeddedConfig(), options: { policy: "target", maxSteps: 40 } },
      120_000,
    );
    const idB = 7101;
    const b = s.raw(
      {
        jsonrpc: "2.0",
        id: idB,
        method: "arbitrage/reason",
        params: { requestId: "q-b", question: "Q: 1+2", config: embeddedConfig(), options: {} },
      },
      idB,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 20));
    const st = await s.request("arbitrage/status");
    assert.ok(st.result.queued.includes("q-b") || st.result.running === "q-b" || st.result.served > 0);
    const c = await s.request("arbitrage/cancel", { requestId: "q-b" });
    assert.equal(c.error, undefined);
    const rb = await b;
    if (rb.error) assert.equal(rb.error.code, -32800);
    else assert.equal(rb.result.finishReason, "cancelled");
    const ra = await a;
    assert.equal(ra.error, undefined, JSON.stringify(ra.error));
    assert.ok(ra.result.steps.length > 0);
  },
);

test("unload disposes the models and the server keeps serving", { skip: !haveModels && "models/*.gguf not present" }, async () => {
  const r = await s.request("arbitrage/unload");
  assert.equal(r.error, undefined);
  const st = await assertServing();
  assert.equal(st.loaded, null);
});

test(
  "calibrate fits the router for the pair in the engine process with progress, and the next load uses it",
  { skip: !haveModels && "models/*.gguf not present" },
  async () => {
    const problems = join(calibrations, "problems.jsonl");
    const lines = readFileSync(join(root, "bench/problems/calibration-embedded.jsonl"), "utf8").split("\n").slice(0, 48);
    writeFileSync(problems, `${lines.join("\n")}\n`);
    s.notifications.length = 0;
    const config = { ...embeddedConfig(), router: "confidence" };
    const r = await s.request("arbitrage/calibrate", { requestId: "cal-1", config, problemsPath: problems }, 300_000);
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.result.status, "written");
    assert.equal(r.result.labels, "exact");
    assert.ok(r.result.path.startsWith(calibrations) && existsSync(r.result.path), r.result.path);
    assert.match(r.result.router, /^confidence, calibrated for this pair, AUC 0\.\d\d$/);
    const progress = s.notifications.filter((n) => n.method === "arbitrage/calibrateProgress" && n.params.requestId === "cal-1").map((n) => n.params);
    assert.ok(progress.length >= 48, `progress after each problem (${progress.length})`);
    assert.equal(progress.at(-1).done, 48);
    const reasoned = await s.request(
      "arbitrage/reason",
      { requestId: "cal-2", question: "Q: 12*7+5", config, options: { policy: "arbitrage", maxSteps: 12 } },
      120_000,
    );
    assert.equal(reasoned.error, undefined, JSON.stringify(reasoned.error));
    assert.equal(reasoned.result.stats.router, r.result.router);
  },
);

test("calibrate with bad params or a bad problem file replies with the cause", async () => {
  const zero = await s.request("arbitrage/calibrate", { requestId: "cal-3", config: embeddedConfig(), problemsPath: "/x.jsonl", budgetMinutes: 0 });
  assert.equal(zero.error.code, -32602);
  assert.match(zero.error.message, /calibrate: budgetMinutes must be a number above 0/);
  const empty = join(calibrations, "empty.jsonl");
  writeFileSync(empty, "");
  const r = await s.request("arbitrage/calibrate", { requestId: "cal-4", config: embeddedConfig(), problemsPath: empty });
  assert.equal(r.error.data.code, "invalid-option");
  assert.match(r.error.message, /holds no problems/);
  await assertServing();
});

// ---------------------------------------------------------------------------------------------
// arbitrage/download ("Download Recommended Models") against a mirror of the model hub on
// 127.0.0.1 (the `arbitrage.modelMirror` setting passes it as `endpoint`): the hub's manifest and
// resolve URLs, byte ranges, and the SHA-256 it declares per file (X-Linked-Etag). What each repo
// does is in its name; every file is the embedded draft model (a real GGUF).
// ---------------------------------------------------------------------------------------------

const GGUF = readFileSync(join(root, "models", "draft.gguf"));
const GGUF_SHA = createHash("sha256").update(GGUF).digest("hex");
let mirror;
const mirrorLog = [];
const startMirror = () => startModelMirror(GGUF, mirrorLog);

let downloadSeq = 0;
function download(repo, dirPath, extra = {}) {
  const downloadId = `dl-${++downloadSeq}`;
  const id = 8000 + downloadSeq;
  const reply = s.raw(
    {
      jsonrpc: "2.0",
      id,
      method: "arbitrage/download",
      params: { downloadId, uri: `hf:mirror-user/${repo}:Q4_K_M`, dirPath, endpoint: mirror.endpoint, ...extra },
    },
    id,
    60_000,
  );
  const progress = () =>
    s.notifications.filter((n) => n.method === "arbitrage/downloadProgress" && n.params.downloadId === downloadId).map((n) => n.params);
  return { id, reply, progress };
}

const downloadDir = () => mkdtempSync(join(tmpdir(), "arbdl-"));
const filesIn = (dir) => readdirSync(dir).sort();

test("download from a mirror: progress notifications up to the full size, the file is the served GGUF, checked by its SHA-256", async () => {
  mirror ??= await startMirror();
  const dir = downloadDir();
  const d = download("ok-GGUF", dir);
  const r = await d.reply;
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(dirname(r.result.path), dir);
  assert.equal(createHash("sha256").update(readFileSync(r.result.path)).digest("hex"), GGUF_SHA);
  assert.deepEqual(filesIn(dir), [basename(r.result.path)], "no temporary file left behind");
  const p = d.progress();
  assert.ok(p.length >= 2, `${p.length} progress notifications`);
  for (let i = 1; i < p.length; i++) assert.ok(p[i].downloadedBytes >= p[i - 1].downloadedBytes, "progress never goes back");
  assert.deepEqual(p.at(-1), { downloadId: p[0].downloadId, downloadedBytes: GGUF.length, totalBytes: GGUF.length });
  assert.ok(
    mirrorLog.some((l) => l.path === "/v2/mirror-user/ok-GGUF/manifests/Q4_K_M"),
    "the mirror's manifest URL was used",
  );
});

test("download: $/cancelRequest stops it within 3 s, nothing is left under the model's name, and the next attempt completes", async () => {
  mirror ??= await startMirror();
  const dir = downloadDir();
  const d = download("slow-GGUF", dir);
  const t0 = Date.now();
  while (!d.progress().some((p) => p.downloadedBytes > 0) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20));
  assert.ok(
    d.progress().some((p) => p.downloadedBytes > 0 && p.downloadedBytes < GGUF.length),
    "cancelled mid-download",
  );
  s.send({ jsonrpc: "2.0", method: "$/cancelRequest", params: { id: d.id } });
  const tc = Date.now();
  const r = await d.reply;
  assert.ok(Date.now() - tc < 3000, `cancel took ${Date.now() - tc} ms`);
  assert.equal(r.error?.code, -32800, JSON.stringify(r.error));
  assert.equal(r.error?.data?.code, "cancelled");
  assert.deepEqual(
    filesIn(dir).filter((f) => f.endsWith(".gguf")),
    [],
    "nothing under the model's name",
  );
  const again = await download("slow-GGUF", dir).reply;
  assert.equal(again.error, undefined, JSON.stringify(again.error));
  assert.equal(createHash("sha256").update(readFileSync(again.result.path)).digest("hex"), GGUF_SHA);
  await assertServing();
});

test("download: a corrupted file (one flipped byte) is caught by its SHA-256 and deleted", async () => {
  mirror ??= await startMirror();
  const dir = downloadDir();
  const r = await download("corrupt-GGUF", dir).reply;
  assert.equal(r.error?.data?.code, "download-failed", JSON.stringify(r.error));
  assert.match(r.error.message, new RegExp(`is corrupt: its SHA-256 is [0-9a-f]{64}, the server declares ${GGUF_SHA}\\. It was deleted`));
  assert.deepEqual(filesIn(dir), []);
});

test("download: a truncated file is caught by its SHA-256 and deleted", async () => {
  mirror ??= await startMirror();
  const dir = downloadDir();
  const r = await download("truncated-GGUF", dir).reply;
  assert.equal(r.error?.data?.code, "download-failed", JSON.stringify(r.error));
  assert.match(r.error.message, /is corrupt: its SHA-256 is/);
  assert.deepEqual(filesIn(dir), []);
});

test("download: against a mirror that drops every connection the request fails as stalled (the downloader alone retries forever)", async () => {
  mirror ??= await startMirror();
  const t0 = Date.now();
  const r = await download("dropping-GGUF", downloadDir(), { stallMs: 1500 }).reply;
  assert.equal(r.error?.data?.code, "download-failed", JSON.stringify(r.error));
  assert.match(
    r.error.message,
    /stalled: no data for 2 s from http:\/\/127\.0\.0\.1:\d+\/\. Check the connection and the arbitrage\.modelMirror setting/,
  );
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
  await assertServing();
});

test("download: a model larger than the folder's free space fails before writing anything", async () => {
  mirror ??= await startMirror();
  const dir = downloadDir();
  const fs = statfsSync(dir);
  assert.ok(fs.bavail * fs.bsize < 2 ** 40, "the test needs a folder with less than the 1.1 TB the mirror claims");
  const r = await download("huge-GGUF", dir, { stallMs: 5000 }).reply;
  assert.equal(r.error?.data?.code, "download-failed", JSON.stringify(r.error));
  assert.match(r.error.message, /^Not enough free space in .*: the model needs 1099\.51 GB more, [\d.]+ GB are free\./);
  assert.deepEqual(filesIn(dir), []);
});

test("download: a folder that cannot be written fails with its path and the cause", async () => {
  mirror ??= await startMirror();
  // Root writes through permission bits, so as root the folder is one on a read-only file system.
  let dir = "/sys/kernel";
  if (process.getuid?.() !== 0) {
    dir = downloadDir();
    chmodSync(dir, 0o500);
  }
  const r = await download("unwritable-GGUF", dir).reply;
  assert.equal(r.error?.data?.code, "download-failed", JSON.stringify(r.error));
  assert.match(r.error.message, new RegExp(`^Cannot write to the download folder ${dir} \\((EACCES|EPERM|EROFS):`));
  // (Filtered by repo: the "dropping" download's retry loop inside the downloader goes on after it failed as stalled.)
  assert.deepEqual(
    mirrorLog.filter((l) => l.path.includes("/unwritable-GGUF")),
    [],
    "nothing was fetched",
  );
});

test("download: an endpoint that is not an http(s) URL is refused as InvalidParams", async () => {
  const r = await s.request("arbitrage/download", { downloadId: "x", uri: "hf:a/b:Q4_K_M", dirPath: "/tmp", endpoint: "file:///etc" });
  assert.equal(r.error.code, -32602);
  assert.match(r.error.message, /endpoint must be an http\(s\) URL/);
});

after(() => mirror?.close());
