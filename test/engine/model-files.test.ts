import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { ArbitrageEngine, checkModelFile, defaultModelConfig, embeddedModelPath } from "../../src/engine/index.js";
import { KNOWN_ARCHITECTURES } from "../../src/engine/gguf/architectures.js";
import { readGgufHeader } from "../../src/engine/gguf/header.js";
import { checkFitsInMemory, estimateModelBytes, freeMemoryBytes, loadLlama } from "../../src/engine/runtime.js";
import {
  HUGE,
  LLAMA_META,
  ggufString,
  kv,
  makeMalformedModels,
  rawGguf,
  rawKv,
  u32,
  u64,
  writeGguf,
  type MalformedModels,
  type Tensor,
  type Value,
} from "../fixtures/bad-models.js";
import { THREADS } from "./helpers.js";

/**
 * Model files that are not what they claim: not regular files, GGUF headers whose counts and
 * lengths run past the end of the file, header rules llama.cpp enforces (or aborts on), unknown
 * architectures, and models too large for the free memory. Every case is a real file on disk;
 * test/engine/model-fuzz.test.ts throws mutated copies of a real model at the same checks.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const isRoot = process.getuid?.() === 0;

let dir: string;
let bad: MalformedModels;
let n = 0;

function file(bytes: Buffer): string {
  const p = join(dir, `case-${n++}.gguf`);
  writeFileSync(p, bytes);
  return p;
}

function model(metadata: Record<string, Value>, tensors: Tensor[] = [EMBD]): string {
  const p = join(dir, `model-${n++}.gguf`);
  writeGguf(p, metadata, tensors);
  return p;
}

const EMBD: Tensor = { name: "token_embd.weight", dims: [8, 4], type: 0, bytesPerElement: 4 };

/** The check fails with this code and a message matching the pattern, naming the file, never a raw Node error. */
async function fails(path: string, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(checkModelFile(path, "Target"), (err: Error & { code?: string }) => {
    assert.equal(err.name, "ArbitrageError", err.stack);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    assert.ok(err.message.startsWith(`Target model ${JSON.stringify(path)}: `), err.message);
    assert.doesNotMatch(err.message, /RangeError|ERR_[A-Z_]+|Received /);
    return true;
  });
}

/** A raw tensor info: name, dimensions, ggml type, offset in the data section. */
function tensorInfo(name: string, dims: (number | bigint)[], type: number, offset: number | bigint): Buffer {
  return Buffer.concat([ggufString(name), u32(dims.length), ...dims.map(u64), u32(type), u64(offset)]);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "arbitrage-model-files-"));
  bad = makeMalformedModels(join(dir, "malformed"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("model paths that are not regular, readable files", () => {
  it("reports a FIFO as not a regular file, without opening it (which would block)", { timeout: 5000 }, async () => {
    assert.ok(statSync(bad.fifo).isFIFO());
    await fails(bad.fifo, "model-not-regular-file", /is not a regular file: it is a named pipe \(FIFO\)\. Choose a \.gguf model file\./);
  });

  it("reports a character device as not a regular file instead of reading it for ever", { timeout: 5000 }, async () => {
    await fails("/dev/zero", "model-not-regular-file", /is not a regular file: it is a character device/);
  });

  it("reports a symbolic link loop as a loop", async () => {
    await fails(bad.symlinkLoop, "model-symlink-loop", /is a symbolic link loop \(the link leads back to itself\)/);
  });

  it("tells missing, not-a-folder, loop, device and directory apart, each with its own message", async () => {
    const draft = embeddedModelPath("draft");
    const cases: [string, string][] = [
      [join(dir, "no-such.gguf"), "model-missing"],
      [join(draft, "inside-a-file.gguf"), "model-missing"],
      [bad.symlinkLoop, "model-symlink-loop"],
      [bad.fifo, "model-not-regular-file"],
      [dir, "model-is-directory"],
    ];
    const details = new Set<string>();
    for (const [path, code] of cases) {
      const err = await checkModelFile(path, "Draft").then(
        () => assert.fail(`${path} passed`),
        (e: Error & { code?: string }) => e,
      );
      assert.equal(err.code, code, `${path}: ${err.message}`);
      details.add(err.message.slice(err.message.indexOf(": ") + 2).split(".")[0]!);
    }
    assert.equal(details.size, cases.length, [...details].join(" | "));
    assert.ok([...details].some((d) => /a part of the path is a file, not a folder/.test(d)));
  });

  it("reports an unreadable file and an unsearchable folder as unreadable (as an unprivileged user)", () => {
    const locked = join(dir, "locked");
    mkdirSync(join(locked, "closed"), { recursive: true });
    writeFileSync(join(locked, "no-read.gguf"), "GGUF");
    writeFileSync(join(locked, "closed", "model.gguf"), "GGUF");
    chmodSync(join(locked, "no-read.gguf"), 0o000);
    chmodSync(join(locked, "closed"), 0o000);
    chmodSync(dir, 0o755);
    chmodSync(locked, 0o755);
    const script = `
      const { checkModelFile } = await import(${JSON.stringify(join(ROOT, "src/engine/model-files.ts"))});
      for (const p of process.argv.slice(1)) {
        await checkModelFile(p, "Draft").then(() => console.log(JSON.stringify({ ok: p })), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));
      }`;
    const argv = ["--import", "tsx", "--input-type=module", "-e", script, join(locked, "no-read.gguf"), join(locked, "closed", "model.gguf")];
    // root reads anything, so the check runs as "nobody" when the tests run as root.
    const r = isRoot
      ? spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, ...argv], {
          cwd: ROOT,
          encoding: "utf8",
          timeout: 30_000,
        })
      : spawnSync(process.execPath, argv, { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
    chmodSync(join(locked, "closed"), 0o755);
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { code?: string; message?: string });
    assert.equal(out.length, 2, r.stdout);
    for (const o of out) {
      assert.equal(o.code, "model-unreadable", JSON.stringify(o));
      assert.match(o.message!, /cannot be read \(permission denied\)\. Fix the file's permissions/);
    }
  });
});

describe("GGUF headers: counts and lengths bounded by the file", () => {
  it("refuses 2^62 tensors and 2^62 metadata entries at once, instead of node-llama-cpp's endless loop", { timeout: 5000 }, async () => {
    assert.equal(statSync(bad.hugeCounts).size, 24);
    const t0 = performance.now();
    await fails(
      bad.hugeCounts,
      "model-corrupt",
      /the file is corrupt: the header claims 4611686018427387904 metadata entries, but the 0 bytes after it hold at most 0/,
    );
    assert.ok(performance.now() - t0 < 1000);
  });

  it("the engine refuses that file as its target, promptly (arbitrage reason --target hung on it)", { timeout: 20_000 }, async () => {
    await assert.rejects(ArbitrageEngine.create({ target: bad.hugeCounts, threads: THREADS }), (err: Error & { code?: string }) => {
      assert.equal(err.code, "model-corrupt");
      assert.match(err.message, /^Target model .*huge-counts\.gguf.*claims 4611686018427387904 metadata entries/);
      return true;
    });
  });

  it("bounds the tensor count by the bytes that could hold tensor infos", async () => {
    await fails(
      file(rawGguf(3, HUGE, 0, Buffer.alloc(100))),
      "model-corrupt",
      /the header claims 4611686018427387904 tensors, but the 100 bytes after it hold at most 4/,
    );
  });

  it("reads GGUF v2 and v3, and names any other version", async () => {
    await fails(bad.version99, "model-unsupported-version", /unsupported GGUF version 99 \(this build reads v2\/v3\)/);
    const good = readFileSync(model(LLAMA_META));
    const withVersion = (v: number) => {
      const b = Buffer.from(good);
      b.writeUInt32LE(v, 4);
      return file(b);
    };
    await fails(withVersion(1), "model-unsupported-version", /GGUF version 1 is no longer supported by llama\.cpp \(this build reads v2\/v3\)/);
    await fails(
      withVersion(0x03000000),
      "model-unsupported-version",
      /unsupported GGUF version 50331648 \(this build reads v2\/v3\) — it looks byte-swapped, i\.e\. a big-endian GGUF/,
    );
    await fails(withVersion(0), "model-unsupported-version", /unsupported GGUF version 0 /);
    const v2 = await checkModelFile(withVersion(2), "Target");
    assert.equal(v2.info.version, 2);
    assert.equal(v2.architecture, "llama");
  });

  it("names a header cut short", async () => {
    await fails(
      file(Buffer.concat([Buffer.from("GGUF"), u32(3), u32(0)])),
      "model-corrupt",
      /the file is truncated: a GGUF header needs 24 bytes, the file has 12/,
    );
  });

  it("names the metadata entry whose string runs past the end of the file", async () => {
    await fails(
      bad.hugeString,
      "model-corrupt",
      /the file is corrupt: metadata entry 1 \("general\.name"\) claims a string of 4611686018427387904 bytes but the file has only 6 left\. Download it again/,
    );
  });

  it("names string-array counts and element lengths, and scalar-array sizes, that do not fit", async () => {
    const arch = kv("general.architecture", { type: "string", value: "llama" });
    const strings = (count: bigint, ...elements: Buffer[]) => rawKv("tokenizer.ggml.tokens", 9, Buffer.concat([u32(8), u64(count), ...elements]));
    await fails(
      file(rawGguf(3, 0, 2, arch, strings(2n, ggufString("a"), u64(2n ** 40n), Buffer.from("bc")))),
      "model-corrupt",
      /metadata entry 1 \("tokenizer\.ggml\.tokens"\) element 1 claims a string of 1099511627776 bytes but the file has only 2 left/,
    );
    await fails(
      file(rawGguf(3, 0, 2, arch, strings(HUGE))),
      "model-corrupt",
      /metadata entry 1 \("tokenizer\.ggml\.tokens"\) claims an array of 4611686018427387904 strings \(at least 36893488147419103232 bytes\) but the file has only 0 left/,
    );
    const ints = rawKv("tokenizer.ggml.token_type", 9, Buffer.concat([u32(5), u64(2n ** 40n), u32(1), u32(1)]));
    await fails(
      file(rawGguf(3, 0, 2, arch, ints)),
      "model-corrupt",
      /metadata entry 1 \("tokenizer\.ggml\.token_type"\) claims an array of 1099511627776 i32 values \(4398046511104 bytes\) but the file has only 8 left/,
    );
  });

  it("names keys that are too long, empty or repeated", async () => {
    await fails(
      file(rawGguf(3, 0, 1, u64(HUGE), Buffer.from("general.architecture"))),
      "model-corrupt",
      /metadata entry 0 claims a key of 4611686018427387904 bytes but the file has only 20 left/,
    );
    await fails(file(rawGguf(3, 0, 1, u64(0), u32(4), u32(1))), "model-corrupt", /metadata entry 0 has an empty key/);
    await fails(
      file(rawGguf(3, 0, 1, u64(70000), Buffer.alloc(70010, 97))),
      "model-corrupt",
      /metadata entry 0 has a key of 70000 bytes \(GGUF keys have at most 65535\)/,
    );
    const name = kv("general.name", { type: "string", value: "x" });
    await fails(file(rawGguf(3, 0, 2, name, name)), "model-corrupt", /metadata entry 1 \("general\.name"\) repeats a key of an earlier entry/);
  });

  it("names unknown value types and arrays of arrays", async () => {
    await fails(
      file(rawGguf(3, 0, 1, rawKv("general.name", 13, u32(1)))),
      "model-corrupt",
      /metadata entry 0 \("general\.name"\) has unknown value type 13/,
    );
    await fails(
      file(rawGguf(3, 0, 1, rawKv("general.name", 9, Buffer.concat([u32(13), u64(1), u32(1)])))),
      "model-corrupt",
      /metadata entry 0 \("general\.name"\) is an array of unknown value type 13/,
    );
    await fails(
      file(rawGguf(3, 0, 1, rawKv("general.name", 9, Buffer.concat([u32(9), u64(1), u32(4), u64(1), u32(1)])))),
      "model-corrupt",
      /metadata entry 0 \("general\.name"\) is an array of arrays, which llama\.cpp does not read/,
    );
  });

  it("holds general.alignment to llama.cpp's rules (a u32 power of 2)", async () => {
    await fails(
      model({ ...LLAMA_META, "general.alignment": { type: "u32", value: 48 } }),
      "model-corrupt",
      /\("general\.alignment"\) is 48, not a power of 2/,
    );
    await fails(
      model({ ...LLAMA_META, "general.alignment": { type: "raw", valueType: 10, bytes: u64(32) } }),
      "model-corrupt",
      /\("general\.alignment"\) must be a u32, not u64/,
    );
  });

  it("holds tensor infos to llama.cpp's rules", async () => {
    const arch = kv("general.architecture", { type: "string", value: "llama" });
    const withTensors = (...infos: Buffer[]) => file(rawGguf(3, infos.length, 1, arch, ...infos, Buffer.alloc(4096)));
    await fails(withTensors(tensorInfo("t", [1, 1, 1, 1, 1], 0, 0)), "model-corrupt", /tensor 0 \("t"\) claims 5 dimensions \(ggml has at most 4\)/);
    await fails(
      withTensors(tensorInfo("t", [8], 4, 0)),
      "model-corrupt",
      /tensor 0 \("t"\) has ggml type 4, which is unknown or no longer supported/,
    );
    await fails(withTensors(tensorInfo("t", [8], 43, 0)), "model-corrupt", /tensor 0 \("t"\) has ggml type 43, which is unknown/);
    await fails(
      withTensors(tensorInfo("t", [33, 2], 2, 0)),
      "model-corrupt",
      /tensor 0 \("t"\) has rows of 33 elements, not a multiple of its type's block of 32/,
    );
    await fails(withTensors(tensorInfo("t", [2n ** 63n], 0, 0)), "model-corrupt", /tensor 0 \("t"\) has a negative dimension/);
    await fails(
      withTensors(tensorInfo("t", [2n ** 32n, 2n ** 32n], 0, 0)),
      "model-corrupt",
      /tensor 0 \("t"\) has 4294967296 x 4294967296 elements, more than ggml can count/,
    );
    await fails(
      withTensors(tensorInfo("t", [8], 0, 64)),
      "model-corrupt",
      /tensor 0 \("t"\) says its data starts at byte 64 of the data section, but the tensors before it end at byte 0/,
    );
    await fails(
      withTensors(tensorInfo("t", [8], 0, 0), tensorInfo("t", [8], 0, 32)),
      "model-corrupt",
      /tensor 1 \("t"\) has the name of an earlier tensor/,
    );
    await fails(
      withTensors(tensorInfo("n".repeat(64), [8], 0, 0)),
      "model-corrupt",
      /tensor info 0 has a name of 64 bytes \(llama\.cpp allows at most 63\)/,
    );
    await fails(
      file(rawGguf(3, 1, 1, arch, ggufString("t"), u32(2), u64(8))),
      "model-corrupt",
      /tensor 0 \("t"\)'s shape, type and offset needs 28 bytes but the file has only 8 left/,
    );
  });

  it("walks a real 262k-token Gemma header in well under a second", async (t) => {
    const gemma = join(
      process.env.ARBITRAGE_REAL_MODELS ?? join(process.env.HOME ?? "", ".cache", "arbitrage", "real-models"),
      "gemma-3-270m-q4_k_m.gguf",
    );
    if (!existsSync(gemma)) {
      t.skip(`${gemma} not fetched (bash scripts/fetch-real-models.sh)`);
      return;
    }
    const handle = await open(gemma, "r");
    try {
      const size = (await handle.stat()).size;
      // The best of three walks: other work shares this machine's two cores.
      const times: number[] = [];
      let header: Awaited<ReturnType<typeof readGgufHeader>> | undefined;
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        header = await readGgufHeader(handle, size, "Target", gemma);
        times.push(performance.now() - t0);
      }
      assert.ok(Math.min(...times) < 1000, `${times.map((t) => t.toFixed(0)).join(", ")} ms`);
      header = header!;
      assert.equal(header.metadataCount, 33);
      assert.equal(header.tensorCount, 236);
      assert.equal(header.dataEnd, size, "the last tensor ends at the end of the file");
      assert.equal(header.values.get("general.architecture"), "gemma3");
    } finally {
      await handle.close();
    }
    const check = await checkModelFile(gemma, "Target");
    assert.equal(check.architecture, "gemma3");
    assert.equal((check.info.metadata as unknown as { tokenizer: { ggml: { tokens: string[] } } }).tokenizer.ggml.tokens.length, 262144);
  });

  it("passes every embedded model, with the data section where node-llama-cpp puts it", async () => {
    for (const role of ["draft", "target", "router", "prm"] as const) {
      const path = embeddedModelPath(role);
      const check = await checkModelFile(path, role);
      const handle = await open(path, "r");
      try {
        const header = await readGgufHeader(handle, check.sizeBytes, role, path);
        assert.equal(header.dataOffset, check.info.tensorInfo![0]!.fileOffset, role);
        assert.equal(header.tensorCount, check.info.tensorCount, role);
        assert.ok(header.dataEnd <= check.sizeBytes, role);
      } finally {
        await handle.close();
      }
    }
  });
});

describe("metadata llama.cpp aborts on", () => {
  const ATTN: Tensor[] = [
    EMBD,
    { name: "blk.0.attn_q.weight", dims: [8, 8], type: 0, bytesPerElement: 4 },
    { name: "blk.1.attn_k.weight", dims: [8, 8], type: 0, bytesPerElement: 4 },
  ];
  const LAYERS = { ...LLAMA_META, "llama.block_count": { type: "u32", value: 2 } } satisfies Record<string, Value>;

  it("refuses repeated tokens (llama.cpp's GGML_ASSERT on its token map) but lets empty tokens repeat", async () => {
    const tokens = (value: string[]) => model({ ...LLAMA_META, "tokenizer.ggml.tokens": { type: "string[]", value } });
    await fails(
      tokens(["a", "b", "a", "d"]),
      "model-corrupt",
      /metadata entry 5 \("tokenizer\.ggml\.tokens"\) element 2 is the same token as element 0 \("a"\), which aborts llama\.cpp/,
    );
    await fails(tokens([]), "model-corrupt", /\("tokenizer\.ggml\.tokens"\) is empty: the model has no tokens/);
    // Distinct as bytes though not as UTF-8 text (both decode to U+FFFD): not a repeat.
    const bytes = Buffer.concat([u32(8), u64(4), u64(1), Buffer.from([0xff]), u64(1), Buffer.from([0xfe]), ggufString("c"), ggufString("d")]);
    const withRaw = { ...LLAMA_META, "tokenizer.ggml.tokens": { type: "raw", valueType: 9, bytes } } satisfies Record<string, Value>;
    assert.equal((await checkModelFile(model(withRaw), "Target")).architecture, "llama");
    assert.equal((await checkModelFile(tokens(["", "", "c", "d"]), "Target")).architecture, "llama");
  });

  it("refuses a layer count outside 1..512", async () => {
    await fails(
      model({ ...LLAMA_META, "llama.block_count": { type: "u32", value: 0 } }),
      "model-corrupt",
      /its metadata says llama\.block_count = 0 \(llama\.cpp runs 1 to 512 layers\), which would abort llama\.cpp/,
    );
    await fails(model({ ...LLAMA_META, "llama.block_count": { type: "u32", value: 513 } }), "model-corrupt", /llama\.block_count = 513/);
  });

  it("refuses a zero, missing or too large head count, or a zero feed-forward length, for a layer that has those tensors", async () => {
    await fails(
      model({ ...LAYERS, "llama.attention.head_count": { type: "u32", value: 0 } }, ATTN),
      "model-corrupt",
      /layer 0 has the tensor blk\.0\.attn_q\.weight, but its metadata gives it llama\.attention\.head_count = 0, which would abort llama\.cpp/,
    );
    // A flipped byte in the key's name makes it missing: llama.cpp then takes 0 heads.
    await fails(
      model({ ...LAYERS, "llama.attention.headNcount": { type: "u32", value: 2 } }, ATTN),
      "model-corrupt",
      /layer 0 has the tensor blk\.0\.attn_q\.weight, but its metadata gives it llama\.attention\.head_count = \(missing, so 0\)/,
    );
    await fails(
      model({ ...LAYERS, "llama.attention.head_count": { type: "u32", value: 16 } }, ATTN),
      "model-corrupt",
      /gives it a key size of llama\.embedding_length \/ llama\.attention\.head_count = 8 \/ 16/,
    );
    await fails(
      model(
        { ...LAYERS, "llama.attention.head_count": { type: "u32", value: 2 }, "llama.attention.head_count_kv": { type: "u32[]", value: [2, 0] } },
        ATTN,
      ),
      "model-corrupt",
      /layer 1 has the tensor blk\.1\.attn_k\.weight, but its metadata gives it llama\.attention\.head_count_kv = 0/,
    );
    const ffn: Tensor[] = [EMBD, { name: "blk.0.ffn_up.weight", dims: [8, 16], type: 0, bytesPerElement: 4 }];
    await fails(
      model({ ...LLAMA_META, "llama.feed_forward_length": { type: "u32", value: 0 } }, ffn),
      "model-corrupt",
      /layer 0 has the tensor blk\.0\.ffn_up\.weight, but its metadata gives it llama\.feed_forward_length = 0/,
    );
    await fails(model(LLAMA_META, ffn), "model-corrupt", /llama\.feed_forward_length = \(missing, so 0\)/);
    // Hybrid models: no attention heads on a layer without attention tensors is fine.
    const hybrid = await checkModelFile(
      model(
        {
          ...LAYERS,
          "llama.attention.head_count": { type: "u32[]", value: [2, 2] },
          "llama.attention.head_count_kv": { type: "u32[]", value: [0, 2] },
        },
        ATTN,
      ),
      "Target",
    );
    assert.equal(hybrid.architecture, "llama");
  });

  it("refuses inconsistent expert counts and unknown RoPE scaling", async () => {
    await fails(
      model({ ...LLAMA_META, "llama.expert_count": { type: "u32", value: 2 }, "llama.expert_used_count": { type: "u32", value: 3 } }),
      "model-corrupt",
      /inconsistent experts \(expert_count = 2, expert_used_count = 3/,
    );
    await fails(
      model({ ...LLAMA_META, "llama.expert_used_count": { type: "u32", value: 1 } }),
      "model-corrupt",
      /inconsistent experts \(expert_count = 0, expert_used_count = 1/,
    );
    await fails(
      model({ ...LLAMA_META, "llama.rope.scaling.type": { type: "string", value: "cubic" } }),
      "model-corrupt",
      /llama\.rope\.scaling\.type = "cubic" \(llama\.cpp knows none, linear, yarn, longrope\)/,
    );
    assert.ok(await checkModelFile(model({ ...LLAMA_META, "llama.rope.scaling.type": { type: "string", value: "yarn" } }), "Target"));
  });
});

describe("architectures", () => {
  it('refuses an architecture llama.cpp does not know, before llama.cpp (which only says "Failed to load model")', async () => {
    await fails(
      bad.unknownArchitecture,
      "model-unsupported-architecture",
      /its architecture "fancynet" is not one the llama\.cpp in this build can run \(it knows \d+, e\.g\. llama/,
    );
  });

  it("a file that is not a language model is still reported as such first", async () => {
    const clip = model({ "general.architecture": { type: "string", value: "fancyclip" } }, [EMBD]);
    await fails(clip, "model-not-llm", /not a language model \(architecture "fancyclip"/);
  });

  it("knows the architectures of the bundled llama.cpp that node-llama-cpp's enum lags behind on", async () => {
    const meta: Record<string, Value> = {};
    for (const [k, v] of Object.entries(LLAMA_META)) meta[k.replace(/^llama\./, "granite_swa.")] = v;
    meta["general.architecture"] = { type: "string", value: "granite_swa" };
    assert.equal((await checkModelFile(model(meta), "Target")).architecture, "granite_swa");
  });

  it("every known architecture name is in the bundled libllama, and fancynet is not", (t) => {
    const bins = join(ROOT, "node_modules", "@node-llama-cpp", `${process.platform}-${process.arch}`, "bins", `${process.platform}-${process.arch}`);
    const lib = existsSync(bins) ? readdirSync(bins).find((f) => /^libllama\.v[\d.]+\.(so|dylib)$|^llama\.dll$/.test(f)) : undefined;
    if (!lib) {
      t.skip(`no prebuilt libllama under ${bins}`);
      return;
    }
    const binary = readFileSync(join(bins, lib));
    // NUL-terminated; the linker may store a name as the tail of a longer one ("bert" in "nomic-bert").
    const inBinary = (name: string) => binary.includes(Buffer.from(`${name}\0`));
    const missing = [...KNOWN_ARCHITECTURES].filter((a) => !inBinary(a));
    assert.deepEqual(missing, []);
    assert.ok(KNOWN_ARCHITECTURES.size > 140);
    assert.equal(inBinary("fancynet"), false);
  });
});

describe("models too large for the free memory", () => {
  const config = { ...defaultModelConfig(), gpu: "cpu" as const, threads: THREADS };

  it("node-llama-cpp's estimate of the real target model is within 2x of its file size", async () => {
    const check = await checkModelFile(embeddedModelPath("target"), "Target");
    const estimate = await estimateModelBytes(await loadLlama(config.gpu, config.threads), check);
    const ratio = estimate / check.sizeBytes;
    assert.ok(ratio > 0.5 && ratio < 2, `estimate ${estimate} for ${check.sizeBytes} bytes`);
  });

  it("refuses the real target model's estimate against a tiny free-memory figure, with both in GiB and the fix", async () => {
    const check = await checkModelFile(embeddedModelPath("target"), "Target");
    const llama = await loadLlama(config.gpu, config.threads);
    const estimate = await estimateModelBytes(llama, check);
    assert.throws(
      () => checkFitsInMemory(estimate, 2 ** 20, "target", check.path),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "model-too-large");
        assert.match(
          err.message,
          /^The target model ".*target\.gguf" needs about 0\.024 GiB of memory \(node-llama-cpp's estimate\), but only 0\.00098 GiB is free\. Choose a smaller or more quantised model/,
        );
        return true;
      },
    );
    assert.throws(
      () => checkFitsInMemory(40 * 2 ** 30, 7.5 * 2 ** 30, "draft", "/m/big.gguf"),
      /needs about 40\.0 GiB of memory .* only 7\.5 GiB is free/,
    );
    // The same estimate fits exactly that much memory, and the memory this machine really has.
    checkFitsInMemory(estimate, estimate, "target", check.path);
    const free = await freeMemoryBytes(llama, config);
    assert.ok(free > estimate, `free ${free}`);
    checkFitsInMemory(estimate, free, "target", check.path);
  });
});
