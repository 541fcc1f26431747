import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ArbitrageError } from "../engine/errors.js";
import type { SandboxLimit, SandboxLimits, SandboxMode, SandboxResult } from "./sandbox-types.js";

/**
 * Runs untrusted Python (model-written code and its tests) in a child process that cannot hurt
 * the bench: only the bench imports this module, never the engine or the extension.
 *
 * Isolation comes from util-linux (essential on Debian, so nothing to install):
 * - `unshare --mount --net --pid --fork --kill-child`: a network namespace with no interface up
 *   (any socket, 127.0.0.1 included, is unreachable), a PID namespace whose first process is the
 *   program, so when it dies, or `unshare` is killed, the kernel kills every process it started,
 *   and a mount namespace with private, size-capped /tmp, /var/tmp and /dev/shm;
 * - as root, `setpriv` drops to nobody/nogroup: root ignores RLIMIT_NPROC and may write
 *   anywhere, nobody may write only its working folder. As another user, `unshare --user`
 *   maps that user to root inside a user namespace instead (the process count is then charged
 *   to that namespace), and the program can write wherever the user can (see USER_MODE_NOTE);
 * - `prlimit` sets the address-space, process, file-size and CPU-time limits;
 * - the caller's side kills the whole process group at the wall-time limit or once the output
 *   cap is read, and removes the throwaway working folder.
 */

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  timeMs: 10_000,
  memoryBytes: 1024 * 1024 * 1024,
  processes: 32,
  outputBytes: 1024 * 1024,
  fileBytes: 16 * 1024 * 1024,
};

export const USER_MODE_NOTE =
  "The code sandbox runs as a non-root user: programs get no network and the time, memory, process and output limits, " +
  "but can write wherever this user can. Run the bench as root (it then drops to the nobody user) or in a container to keep their files out of yours.";

const SANDBOX_USER = "nobody";
/** The exit status of the setup shell when it cannot mount the private scratch folders. */
const SETUP_FAILED = 125;
const SANDBOX_GROUP = "nogroup";
/** How long to wait for the pipes to close after a kill before giving up on them. */
const CLOSE_GRACE_MS = 3000;

/** What a program's own error output says when a limit or a denial stopped it (Python's messages). */
const SIGNS: [SandboxLimit, RegExp][] = [
  ["memory", /\bMemoryError\b|Cannot allocate memory/],
  ["processes", /\bBlockingIOError\b|Resource temporarily unavailable/],
  ["network", /Network is unreachable|Temporary failure in name resolution|Name or service not known|Cannot assign requested address/],
  ["filesystem", /\bPermissionError\b|Read-only file system|File too large/],
];
const ORDER: readonly SandboxLimit[] = ["time", "memory", "processes", "output", "network", "filesystem"];

function describeLimit(limit: SandboxLimit, l: SandboxLimits): string {
  const mib = (n: number) => `${Math.round(n / (1024 * 1024))} MiB`;
  switch (limit) {
    case "time":
      return `killed at the wall-time limit (${l.timeMs / 1000} s)`;
    case "memory":
      return `reached the memory limit (${mib(l.memoryBytes)} address space)`;
    case "processes":
      return `reached the process limit (${l.processes} processes)`;
    case "output":
      return `killed at the output limit (${l.outputBytes} bytes read)`;
    case "network":
      return "tried the network, which the sandbox has disabled";
    case "filesystem":
      return `was denied a file write outside its working folder or over the file-size limit (${mib(l.fileBytes)})`;
  }
}

export interface SandboxOptions {
  /** The Python interpreter (default $ARBITRAGE_SANDBOX_PYTHON, else /usr/bin/python3 where it exists, else python3). */
  python?: string;
  limits?: Partial<SandboxLimits>;
}

export class CodeSandbox {
  private constructor(
    readonly mode: SandboxMode,
    readonly python: string,
    readonly limits: SandboxLimits,
    private readonly owner: { uid: number; gid: number } | null,
  ) {}

  /**
   * Checks that programs can run isolated on this machine (one trivial program), and says why not
   * in a clear error otherwise. In "user" mode, `USER_MODE_NOTE` says what is not isolated.
   */
  static async create(opts: SandboxOptions = {}): Promise<CodeSandbox> {
    const root = process.getuid?.() === 0;
    if (process.platform !== "linux") {
      throw new ArbitrageError(
        "internal",
        `The code sandbox needs Linux namespaces; this is ${process.platform}. Run code-graded benchmarks on Linux.`,
      );
    }
    const python = opts.python ?? process.env.ARBITRAGE_SANDBOX_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
    const limits = { ...DEFAULT_SANDBOX_LIMITS, ...opts.limits };
    let owner: { uid: number; gid: number } | null = null;
    if (root) {
      const id = async (flag: string) => Number((await promisify(execFile)("id", [flag, SANDBOX_USER])).stdout.trim());
      try {
        owner = { uid: await id("-u"), gid: await id("-g") };
      } catch (e) {
        throw new ArbitrageError(
          "internal",
          `The code sandbox drops root to the user ${SANDBOX_USER}, which this machine lacks (${(e as Error).message.trim()}).`,
        );
      }
    }
    const sandbox = new CodeSandbox(root ? "root" : "user", python, limits, owner);
    const probe = await sandbox.run('print("sandbox ok")', { timeMs: Math.max(limits.timeMs, 10_000) });
    if (!probe.passed || probe.stdout.trim() !== "sandbox ok") {
      const how = root
        ? `util-linux's unshare (network and PID namespaces), setpriv and prlimit, run as root, and ${python} readable and runnable by the user ${SANDBOX_USER}`
        : `util-linux's unshare and prlimit with unprivileged user namespaces enabled (sysctl user.max_user_namespaces > 0; on Debian also kernel.unprivileged_userns_clone=1), and ${python} installed`;
      const said = `${probe.stderr}${probe.stdout}`.trim().split("\n").slice(-3).join(" | ");
      throw new ArbitrageError(
        "internal",
        `The code sandbox cannot run programs here (${probe.reason || "unexpected output"}${said ? `: ${said}` : ""}). It needs ${how}. Set $ARBITRAGE_SANDBOX_PYTHON to choose the interpreter.`,
      );
    }
    return sandbox;
  }

  private command(l: SandboxLimits): string[] {
    const isolate =
      this.mode === "root"
        ? ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--"]
        : ["unshare", "--user", "--map-root-user", "--mount", "--net", "--pid", "--fork", "--kill-child", "--"];
    // Private, size-capped /tmp, /var/tmp and /dev/shm (the folders anyone may write): what the
    // program writes there vanishes with its mount namespace. The working folder stays the cwd.
    const scratch = [
      "/bin/sh",
      "-c",
      `for d in /tmp /var/tmp /dev/shm; do if [ -d "$d" ]; then mount -t tmpfs -o size=${l.fileBytes},mode=1777,nosuid,nodev tmpfs "$d" || exit ${SETUP_FAILED}; fi; done; exec "$@"`,
      "sandbox",
    ];
    const drop =
      this.mode === "root" ? ["setpriv", `--reuid=${SANDBOX_USER}`, `--regid=${SANDBOX_GROUP}`, "--clear-groups", "--no-new-privs", "--"] : [];
    const cpuSeconds = Math.ceil(l.timeMs / 1000) + 1;
    const rlimits = ["prlimit", `--as=${l.memoryBytes}`, `--nproc=${l.processes}`, `--fsize=${l.fileBytes}`, `--cpu=${cpuSeconds}`, "--core=0", "--"];
    // The program comes on stdin: its folder's path is hidden once /tmp is remounted.
    return [...isolate, ...scratch, ...drop, ...rlimits, this.python, "-I", "-B", "-"];
  }

  /**
   * Runs one Python program in a fresh working folder, removed afterwards. Never throws for what
   * the program does: a crash, hang or limit is a failed result with its reason.
   */
  async run(source: string, limits: Partial<SandboxLimits> = {}): Promise<SandboxResult> {
    const l = { ...this.limits, ...limits };
    const workDir = await mkdtemp(join(tmpdir(), "arbitrage-sandbox-"));
    try {
      if (this.owner) await chown(workDir, this.owner.uid, this.owner.gid);
      return await this.spawnProgram(source, workDir, l);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  private spawnProgram(source: string, workDir: string, l: SandboxLimits): Promise<SandboxResult> {
    const [cmd, ...args] = this.command(l);
    const t0 = performance.now();
    return new Promise((resolve) => {
      const child = spawn(cmd!, args, {
        cwd: workDir,
        // Its own process group, so one kill reaches every process the program started.
        detached: true,
        stdio: ["pipe", "pipe", "pipe"],
        env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/tmp", TMPDIR: "/tmp", LANG: "C.UTF-8", PYTHONHASHSEED: "0" },
      });
      // A program that dies before reading all of its source closes the pipe: nothing to report.
      child.stdin.on("error", () => undefined);
      child.stdin.end(source);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let read = 0;
      const hit = new Set<SandboxLimit>();
      let settled = false;
      let spawnError: Error | null = null;
      const kill = () => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      };
      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        const room = l.outputBytes - read;
        if (room <= 0) return;
        into.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        read += Math.min(room, chunk.length);
        if (read >= l.outputBytes) {
          hit.add("output");
          kill();
        }
      };
      child.stdout.on("data", collect(out));
      child.stderr.on("data", collect(err));
      const timer = setTimeout(() => {
        hit.add("time");
        kill();
      }, l.timeMs);
      let graceTimer: NodeJS.Timeout | undefined;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(graceTimer);
        kill();
        const stdout = Buffer.concat(out).toString("utf8");
        const stderr = Buffer.concat(err).toString("utf8") + (spawnError ? `\n${spawnError.message}` : "");
        for (const [limit, sign] of SIGNS) if (sign.test(stderr)) hit.add(limit);
        // SIGXCPU: the CPU-time backstop of the wall-time limit.
        if (signal === "SIGXCPU") hit.add("time");
        const limits = ORDER.filter((x) => hit.has(x));
        const passed = code === 0 && limits.length === 0 && !spawnError;
        let reason = "";
        if (!passed) {
          const parts = limits.map((x) => describeLimit(x, l));
          if (parts.length === 0)
            parts.push(spawnError ? `could not start: ${spawnError.message}` : signal ? `killed by ${signal}` : `exited with status ${code}`);
          const last = stderr.trim().split("\n").pop()?.trim();
          reason = `${parts.join("; ")}${last ? ` (${last.slice(0, 300)})` : ""}`;
        }
        resolve({ passed, exitCode: code, signal, limits, reason, stdout, stderr, wallMs: performance.now() - t0, workDir });
      };
      child.on("error", (e) => {
        spawnError = e;
        finish(null, null);
      });
      child.on("exit", () => {
        // The program's first process is gone, so the kernel has killed the rest of its PID
        // namespace; the pipes close once they are gone. Don't wait forever on them.
        graceTimer = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          finish(child.exitCode, child.signalCode);
        }, CLOSE_GRACE_MS);
      });
      child.on("close", (code, signal) => finish(code, signal));
    });
  }
}
