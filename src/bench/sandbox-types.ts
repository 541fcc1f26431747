/** What a sandboxed program may use before it is stopped. */
export interface SandboxLimits {
  /** Wall time before the program and every process it started are killed (ms). */
  timeMs: number;
  /** Address space of each process (bytes, RLIMIT_AS): a larger allocation fails inside the program. */
  memoryBytes: number;
  /** Processes and threads the program may have at once (RLIMIT_NPROC): a further fork fails. */
  processes: number;
  /** stdout and stderr together: at most this many bytes are read, then the program is killed. */
  outputBytes: number;
  /** Largest file the program may write in its working folder (RLIMIT_FSIZE). */
  fileBytes: number;
}

/** A limit a program ran into (or, for network and filesystem, a denial it hit). */
export type SandboxLimit = "time" | "memory" | "processes" | "output" | "network" | "filesystem";

/** How the sandbox isolates programs on this machine (see code-sandbox.ts). */
export type SandboxMode = "root" | "user";

export interface SandboxResult {
  /** Exit status 0 and no limit reached. */
  passed: boolean;
  exitCode: number | null;
  signal: string | null;
  /** The limits the program ran into, in the order of SandboxLimit. */
  limits: SandboxLimit[];
  /** Why the program failed, naming each limit it reached ("" when it passed). */
  reason: string;
  /** The first bytes of each stream (together at most outputBytes). */
  stdout: string;
  stderr: string;
  wallMs: number;
  /** The throwaway working folder the program ran in (already removed). */
  workDir: string;
}
