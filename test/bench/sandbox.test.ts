import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { once } from "node:events";
import { connect, createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { packageRoot } from "../../src/engine/paths.js";
import { CodeSandbox } from "../../src/bench/code-sandbox.js";
import type { SandboxResult } from "../../src/bench/sandbox-types.js";

/** Processes working in the working folder: the program and anything it forked. */
function processesIn(workDir: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(workDir)) found.push(Number(pid));
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

/**
 * Real Python child processes, each with limits of a few seconds. Every hostile program must come
 * back as a failed result naming the limit it reached, leave nothing running and nothing written,
 * and the next program must still run.
 */
describe("code sandbox", () => {
  let sandbox: CodeSandbox;
  let server: Server;
  let port = 0;
  let connections = 0;
  const limits = { timeMs: 3000, memoryBytes: 512 * 1024 * 1024, processes: 16, outputBytes: 64 * 1024, fileBytes: 1024 * 1024 };

  before(async () => {
    sandbox = await CodeSandbox.create({ limits });
    server = createServer((s) => {
      connections++;
      s.end("hello");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const expectContained = async (r: SandboxResult) => {
    assert.equal(r.passed, false, `the program passed: ${JSON.stringify(r).slice(0, 400)}`);
    await expectCleanedUp(r);
  };
  const expectCleanedUp = async (r: SandboxResult) => {
    assert.equal(existsSync(r.workDir), false, "the working folder is removed");
    assert.deepEqual(processesIn(r.workDir), [], "nothing the program started is still running");
    const next = await sandbox.run("print(6 * 7)");
    assert.equal(next.passed, true, next.reason);
    assert.equal(next.stdout.trim(), "42");
  };

  it("passes a correct program and fails a wrong one with its error", async () => {
    const ok = await sandbox.run("def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\nprint('ok')\n");
    assert.equal(ok.passed, true, ok.reason);
    assert.equal(ok.stdout, "ok\n");
    assert.deepEqual(ok.limits, []);
    const wrong = await sandbox.run("def add(a, b):\n    return a - b\n\nassert add(2, 3) == 5\n");
    assert.equal(wrong.passed, false);
    assert.deepEqual(wrong.limits, []);
    assert.match(wrong.reason, /exited with status 1 \(AssertionError\)/);
    await expectContained(wrong);
  });

  it("kills `while True: pass` at the wall-time limit", async () => {
    const r = await sandbox.run("while True:\n    pass\n");
    assert.deepEqual(r.limits, ["time"]);
    assert.match(r.reason, /wall-time limit \(3 s\)/);
    assert.ok(r.wallMs >= 2900 && r.wallMs < 8000, `ran ${r.wallMs} ms`);
    await expectContained(r);
  });

  it("contains a fork bomb at the process limit and kills all of it", async () => {
    const r = await sandbox.run("import os\nwhile True:\n    os.fork()\n");
    assert.ok(r.limits.includes("processes"), r.reason);
    assert.match(r.reason, /process limit \(16 processes\)/);
    await expectContained(r);
  });

  it("stops reading 1 GB of output at the output cap and kills the writer", async () => {
    const r = await sandbox.run("import sys\nchunk = 'x' * 65536\nfor _ in range(16384):\n    sys.stdout.write(chunk)\n");
    assert.deepEqual(r.limits, ["output"]);
    assert.match(r.reason, /output limit \(65536 bytes read\)/);
    assert.ok(r.stdout.length <= limits.outputBytes);
    assert.ok(r.wallMs < 2900, `killed at the cap, not at the time limit (${r.wallMs} ms)`);
    await expectContained(r);
  });

  it("fails a 4 GB allocation at the memory limit", async () => {
    const r = await sandbox.run("block = bytearray(4 * 1024 ** 3)\nprint(len(block))\n");
    assert.deepEqual(r.limits, ["memory"]);
    assert.match(r.reason, /memory limit \(512 MiB address space\).*MemoryError/);
    await expectContained(r);
  });

  it("denies a write into the project folder", async () => {
    const target = `${packageRoot()}/sandbox-escape-${process.pid}.txt`;
    const r = await sandbox.run(`with open(${JSON.stringify(target)}, "w") as f:\n    f.write("escaped")\n`);
    assert.equal(existsSync(target), false, "nothing was written into the project");
    assert.equal(r.passed, false, "the write failed");
    // A project under /tmp (a CI clone, say) is hidden by the sandbox's private /tmp: the folder is not there at all.
    const hiddenByPrivateTmp = /^\/(tmp|var\/tmp|dev\/shm)\//.test(packageRoot());
    if (sandbox.mode === "root" && !hiddenByPrivateTmp) {
      assert.deepEqual(r.limits, ["filesystem"]);
      assert.match(r.reason, /denied a file write outside its working folder.*PermissionError/);
    } else if (hiddenByPrivateTmp) {
      assert.match(r.reason, /FileNotFoundError/);
    }
    await expectContained(r);
  });

  it("gives the program a private /tmp: what it writes there is gone after", async () => {
    const name = `sandbox-scratch-${process.pid}`;
    const r = await sandbox.run(
      `for d in ("/tmp", "/var/tmp", "/dev/shm"):\n    open(d + "/${name}", "w").write("x")\nopen("here.txt", "w").write("y")\nprint("written")\n`,
    );
    assert.equal(r.passed, true, r.reason);
    assert.equal(r.stdout, "written\n");
    for (const d of ["/tmp", "/var/tmp", "/dev/shm"]) assert.equal(existsSync(`${d}/${name}`), false, `${d}/${name} left behind`);
    await expectCleanedUp(r);
  });

  it("gives no network: a socket to 127.0.0.1 fails while the server listens", async () => {
    const r = await sandbox.run(`import socket\ns = socket.create_connection(("127.0.0.1", ${port}), timeout=2)\nprint(s.recv(5))\n`);
    assert.deepEqual(r.limits, ["network"]);
    assert.match(r.reason, /network, which the sandbox has disabled.*Network is unreachable/);
    assert.equal(connections, 0, "the server saw no connection");
    // The same server answers outside the sandbox, so the denial is the sandbox's.
    const c = connect(port, "127.0.0.1");
    const [greeting] = (await once(c, "data")) as [Buffer];
    c.destroy();
    assert.equal(greeting.toString(), "hello");
    await expectContained(r);
  });

  it("is imported by no engine, server or extension module", () => {
    for (const dir of ["engine", "server", "extension", "protocol", "shared"]) {
      const root = join(packageRoot(), "src", dir);
      if (!existsSync(root)) continue;
      for (const f of readdirSync(root, { recursive: true, encoding: "utf8" })) {
        if (!/\.m?ts$/.test(f)) continue;
        assert.doesNotMatch(readFileSync(join(root, f), "utf8"), /code-sandbox/, `src/${dir}/${f} imports the sandbox`);
      }
    }
  });

  it("runs for a non-root user too, in a user namespace, with the same limits and no network", async (t) => {
    if (process.getuid?.() !== 0) return t.skip("the test process is not root: this suite already ran in user mode");
    const asNobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"];
    if (spawnSync(asNobody[0]!, [...asNobody.slice(1), "test", "-r", join(packageRoot(), "package.json")]).status !== 0)
      return t.skip("the user nobody cannot read this checkout");
    const seen = connections;
    const dir = mkdtempSync(join(tmpdir(), "arbitrage-sandbox-user-"));
    try {
      chmodSync(dir, 0o755);
      // The child (nobody) writes only here: tsx's cache and the sandbox's working folders.
      const scratch = join(dir, "scratch");
      mkdirSync(scratch, { mode: 0o777 });
      chmodSync(scratch, 0o777);
      const script = join(dir, "user-mode.mts");
      const moduleUrl = pathToFileURL(join(packageRoot(), "src", "bench", "code-sandbox.ts")).href;
      writeFileSync(
        script,
        `import { CodeSandbox } from ${JSON.stringify(moduleUrl)};
const s = await CodeSandbox.create({ limits: { timeMs: 2000, processes: 16, outputBytes: 4096 } });
const out = { mode: s.mode, runs: [] };
for (const src of ["print(6 * 7)", "import os\\nwhile True:\\n    os.fork()\\n", "import socket\\nsocket.create_connection(('127.0.0.1', ${port}))\\n", "while True:\\n    pass\\n"]) {
  const r = await s.run(src);
  out.runs.push({ passed: r.passed, limits: r.limits, stdout: r.stdout });
}
console.log(JSON.stringify(out));
`,
        { mode: 0o644 },
      );
      const child = spawnSync(asNobody[0]!, [...asNobody.slice(1), process.execPath, "--import", "tsx", script], {
        cwd: packageRoot(),
        encoding: "utf8",
        timeout: 60_000,
        env: { PATH: process.env.PATH, HOME: scratch, TMPDIR: scratch },
      });
      assert.equal(child.status, 0, child.stderr);
      const out = JSON.parse(child.stdout.trim().split("\n").pop()!) as {
        mode: string;
        runs: { passed: boolean; limits: string[]; stdout: string }[];
      };
      assert.equal(out.mode, "user");
      assert.deepEqual(out.runs, [
        { passed: true, limits: [], stdout: "42\n" },
        { passed: false, limits: ["processes"], stdout: "" },
        { passed: false, limits: ["network"], stdout: "" },
        { passed: false, limits: ["time"], stdout: "" },
      ]);
      assert.equal(connections, seen, "the server saw no connection from the sandbox");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
