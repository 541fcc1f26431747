import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { embeddedModelPath } from "../../src/engine/index.js";
import { ERROR_CODES } from "../../src/engine/errors.js";

/**
 * Mutated copies of the real embedded draft model (truncated, bytes flipped, absurd counts,
 * lengths, types and values written into its header), each checked and loaded the way the engine
 * does it, in child processes: every one must end in an ArbitrageError with a known code or in a
 * working model — never a hang, never a native abort of the process.
 */

const CHILD = resolve(import.meta.dirname, "../fixtures/model-fuzz-child.ts");
const CASE_TIMEOUT_MS = 10_000;
const STARTUP_TIMEOUT_MS = 30_000;

/** mulberry32: a small seeded PRNG, so the cases are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where each field of a (well-formed) GGUF file lies: a small walker for the known-good draft model. */
interface Layout {
  kvs: { key: string; keyLengthAt: number; typeAt: number; type: number; valueAt: number; elementType?: number; countAt?: number; end: number }[];
  tensors: { name: string; nameLengthAt: number; dimCountAt: number; dimsAt: number; typeAt: number; offsetAt: number; end: number }[];
  metadataEnd: number;
  tensorInfoEnd: number;
  dataOffset: number;
}

function layout(b: Buffer): Layout {
  let pos = 24;
  const u32 = () => ((pos += 4), b.readUInt32LE(pos - 4));
  const u64 = () => ((pos += 8), Number(b.readBigUInt64LE(pos - 8)));
  const str = () => {
    const n = u64();
    pos += n;
    return b.toString("utf8", pos - n, pos);
  };
  const scalar: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const skipValue = (type: number) => {
    if (type === 8) str();
    else pos += scalar[type]!;
  };
  const kvCount = Number(b.readBigUInt64LE(16));
  const tensorCount = Number(b.readBigUInt64LE(8));
  const kvs: Layout["kvs"] = [];
  for (let i = 0; i < kvCount; i++) {
    const keyLengthAt = pos;
    const key = str();
    const typeAt = pos;
    const type = u32();
    const valueAt = pos;
    if (type === 9) {
      const elementType = u32();
      const countAt = pos;
      const count = u64();
      for (let j = 0; j < count; j++) skipValue(elementType);
      kvs.push({ key, keyLengthAt, typeAt, type, valueAt, elementType, countAt, end: pos });
    } else {
      skipValue(type);
      kvs.push({ key, keyLengthAt, typeAt, type, valueAt, end: pos });
    }
  }
  const metadataEnd = pos;
  const tensors: Layout["tensors"] = [];
  for (let i = 0; i < tensorCount; i++) {
    const nameLengthAt = pos;
    const name = str();
    const dimCountAt = pos;
    const dims = u32();
    const dimsAt = pos;
    pos += 8 * dims;
    const typeAt = pos;
    pos += 4;
    const offsetAt = pos;
    pos += 8;
    tensors.push({ name, nameLengthAt, dimCountAt, dimsAt, typeAt, offsetAt, end: pos });
  }
  return { kvs, tensors, metadataEnd, tensorInfoEnd: pos, dataOffset: Math.ceil(pos / 32) * 32 };
}

interface Case {
  name: string;
  bytes: Buffer;
}

export function buildCases(good: Buffer, seed: number): Case[] {
  const rnd = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo));
  const L = layout(good);
  const cases: Case[] = [];
  const put = (name: string, at: number, value: Buffer) => {
    const b = Buffer.from(good);
    value.copy(b, at);
    cases.push({ name, bytes: b });
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    return b;
  };
  const u64 = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    return b;
  };

  // Truncations: inside the header, the metadata, the tensor infos and the tensor data.
  const cuts = new Set<number>([1, 3, 4, 6, 8, 12, 16, 20, 23, 24]);
  for (const kv of L.kvs.slice(0, 4)) [kv.keyLengthAt + 3, kv.typeAt, kv.valueAt + 2].forEach((c) => cuts.add(c));
  while (cuts.size < 24) cuts.add(int(24, L.metadataEnd));
  for (let k = 0; k < 6; k++) cuts.add(int(L.metadataEnd, L.tensorInfoEnd));
  cuts.add(L.tensorInfoEnd);
  cuts.add(L.dataOffset);
  for (let k = 0; k < 4; k++) cuts.add(int(L.dataOffset, good.length));
  cuts.add(good.length - 1);
  for (const c of [...cuts].sort((a, b) => a - b)) cases.push({ name: `truncated at ${c}`, bytes: good.subarray(0, c) });

  // Flipped bytes in the first 64 KB, mostly in the header (metadata and tensor infos), some in the data.
  for (let k = 0; k < 35; k++) {
    const inHeader = k < 28;
    const b = Buffer.from(good);
    const at: number[] = [];
    for (let f = 0, n = int(1, 4); f < n; f++) {
      const p = inHeader ? int(0, L.tensorInfoEnd) : int(L.dataOffset, Math.min(65536, good.length));
      b[p] = b[p]! ^ int(1, 256);
      at.push(p);
    }
    cases.push({ name: `flipped bytes at ${at.join(",")}`, bytes: b });
  }

  // Absurd values in the header.
  for (const v of [0, 1, 4, 99, 0x03000000, 0xffffffff]) put(`version ${v}`, 4, u32(v));
  const tensorCount = BigInt(L.tensors.length);
  const kvCount = BigInt(L.kvs.length);
  for (const v of [0n, tensorCount + 1n, 2n ** 32n, 2n ** 62n, 2n ** 64n - 1n]) put(`tensor count ${v}`, 8, u64(v));
  for (const v of [0n, kvCount - 1n, kvCount + 1n, 2n ** 62n, 2n ** 64n - 1n]) put(`metadata count ${v}`, 16, u64(v));

  // Absurd lengths and types in the first metadata entries.
  for (const kv of L.kvs.slice(0, 4)) {
    const keyLength = BigInt(kv.typeAt - kv.keyLengthAt - 8);
    for (const v of [0n, keyLength + 1n, 2n ** 62n]) put(`${kv.key}: key length ${v}`, kv.keyLengthAt, u64(v));
    for (const t of [9, 13]) put(`${kv.key}: value type ${t}`, kv.typeAt, u32(t));
    if (kv.type === 8) for (const v of [2n ** 62n, BigInt(good.length)]) put(`${kv.key}: string length ${v}`, kv.valueAt, u64(v));
    if (kv.type === 4) for (const v of [0, 0x7fffffff, 0xffffffff]) put(`${kv.key}: value ${v}`, kv.valueAt, u32(v));
  }
  // Absurd hyperparameters and token ids.
  const hparams = /block_count|embedding_length|feed_forward_length|head_count|rope\.dimension_count|vocab_size|token_id$/;
  for (const kv of L.kvs.filter((kv) => hparams.test(kv.key) && (kv.type === 4 || kv.type === 5))) {
    for (const v of [0, 0xffffffff]) put(`${kv.key}: value ${v}`, kv.valueAt, u32(v));
    // A flipped byte in the key's name: llama.cpp then misses the key (and takes a default of 0 for some).
    const last = kv.typeAt - 1;
    put(`${kv.key}: key renamed`, last, Buffer.from([good[last]! ^ 0x20]));
  }
  // Absurd element types and counts of the tokenizer arrays.
  for (const kv of L.kvs.filter((kv) => kv.type === 9)) {
    for (const t of [9, 13]) put(`${kv.key}: element type ${t}`, kv.valueAt, u32(t));
    for (const v of [2n ** 62n, 100000n]) put(`${kv.key}: array count ${v}`, kv.countAt!, u64(v));
    if (kv.elementType === 8 && kv.end > kv.countAt! + 8) put(`${kv.key}: first element length 2^62`, kv.countAt! + 8, u64(2n ** 62n));
  }
  // Absurd values of the first tensor info.
  const t0 = L.tensors[0]!;
  for (const v of [0, 5, 0xffffffff]) put(`${t0.name}: dimension count ${v}`, t0.dimCountAt, u32(v));
  for (const v of [0n, 2n ** 62n, 2n ** 63n]) put(`${t0.name}: first dimension ${v}`, t0.dimsAt, u64(v));
  for (const v of [4, 28, 43]) put(`${t0.name}: type ${v}`, t0.typeAt, u32(v));
  for (const v of [1n, 2n ** 62n]) put(`${t0.name}: offset ${v}`, t0.offsetAt, u64(v));
  return cases;
}

interface Outcome {
  i: number;
  outcome: "ok" | "arbitrage-error" | "other-error" | "hang" | "crash";
  stage?: string;
  code?: string;
  message?: string;
  llamaLog?: string[];
  exit?: string;
}

/** Runs the cases in as few children as possible: a child that dies or hangs is replaced, from the next case. */
async function runCases(listFile: string, count: number): Promise<{ outcomes: Outcome[]; children: number }> {
  const outcomes: Outcome[] = [];
  let next = 0;
  let children = 0;
  while (next < count) {
    children++;
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, listFile, String(next)], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    let current = -1;
    let hung = false;
    let timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, STARTUP_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const msg = JSON.parse(line) as Outcome & { start?: boolean };
      clearTimeout(timer);
      if (msg.start) {
        current = msg.i;
        timer = setTimeout(() => {
          hung = true;
          child.kill("SIGKILL");
        }, CASE_TIMEOUT_MS);
      } else {
        outcomes[msg.i] = msg;
        next = msg.i + 1;
        current = -1;
      }
    });
    const exit = await new Promise<string>((done) => child.on("close", (code, signal) => done(signal ? `signal ${signal}` : `exit code ${code}`)));
    clearTimeout(timer);
    if (current >= 0) {
      outcomes[current] = { i: current, outcome: hung ? "hang" : "crash", exit, message: stderr.trim().split("\n").slice(-5).join("\n") };
      next = current + 1;
    } else if (next < count) {
      throw new Error(`fuzz child failed before a case (${exit}): ${stderr}`);
    }
  }
  return { outcomes, children };
}

describe("fuzzed model files", () => {
  let dir: string;
  let cases: Case[];
  let listFile: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "arbitrage-fuzz-"));
    cases = buildCases(readFileSync(embeddedModelPath("draft")), 20251201);
    const paths = cases.map((c, i) => {
      const p = join(dir, `case-${String(i).padStart(3, "0")}.gguf`);
      writeFileSync(p, c.bytes);
      return p;
    });
    listFile = join(dir, "cases.txt");
    writeFileSync(listFile, `${paths.join("\n")}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("builds the same ~170 cases on every run", () => {
    assert.ok(cases.length >= 150 && cases.length <= 200, `${cases.length} cases`);
    const again = buildCases(readFileSync(embeddedModelPath("draft")), 20251201);
    assert.deepEqual(
      again.map((c) => c.name),
      cases.map((c) => c.name),
    );
    assert.ok(again.every((c, i) => c.bytes.equals(cases[i]!.bytes)));
  });

  it("every mutation ends in a known ArbitrageError or a working model: no hang, no abort", { timeout: 170_000 }, async () => {
    const t0 = Date.now();
    const { outcomes, children } = await runCases(listFile, cases.length);
    const seconds = (Date.now() - t0) / 1000;
    const known = new Set<string>(ERROR_CODES);
    const bad = outcomes.filter(
      (o) => o.outcome === "hang" || o.outcome === "crash" || o.outcome === "other-error" || !(o.outcome === "ok" || known.has(o.code!)),
    );
    const tally = new Map<string, number>();
    for (const o of outcomes) {
      const key = o.outcome === "arbitrage-error" ? `${o.code} (${o.stage})` : o.outcome;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    console.log(
      `fuzz: ${cases.length} cases in ${children} child process(es), ${seconds.toFixed(1)} s: ${[...tally].map(([k, n]) => `${k} ${n}`).join(", ")}`,
    );
    assert.equal(outcomes.filter(Boolean).length, cases.length, "every case has an outcome");
    assert.deepEqual(
      bad.map((o) => `${cases[o.i]!.name}: ${o.outcome} ${o.exit ?? ""} ${o.stage ?? ""} ${o.code ?? ""} ${o.message ?? ""}`),
      [],
    );
    for (const o of outcomes) {
      if (o.outcome !== "arbitrage-error") continue;
      assert.doesNotMatch(o.message!, /RangeError|ERR_OUT_OF_RANGE|Received /, `${cases[o.i]!.name}: a raw Node error in ${o.message}`);
      assert.match(
        o.message!,
        /^(Fuzz model|The fuzz model|llama\.cpp could not load the fuzz model|Cannot create a context|No memory)/,
        `${cases[o.i]!.name}: ${o.message}`,
      );
    }
  });
});
