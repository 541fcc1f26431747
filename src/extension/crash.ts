/**
 * What the user reads when the engine process dies. Pure (no `vscode`), so it is unit-tested
 * without an extension host (test/extension/crash.test.ts).
 */

export interface ExitInfo {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
  at: number;
  expected: boolean;
}

export function describeCrash(info: ExitInfo): string {
  const how = info.signal ? `killed by signal ${info.signal}` : `exited with code ${info.code}`;
  const abortLine = lastMeaningfulLine(info.stderrTail);
  const cause = abortLine
    ? ` Last engine output: "${abortLine}".`
    : info.signal === "SIGKILL"
      ? " The process was killed from outside (out of memory or a manual kill)."
      : info.signal === "SIGABRT" || info.signal === "SIGSEGV"
        ? " llama.cpp aborted natively; this usually means a model file it cannot handle (check the draft/target/router paths in the Arbitrage settings)."
        : "";
  return `The Arbitrage engine process stopped unexpectedly (${how}).${cause} The engine is being restarted; the request was lost and can be run again.`;
}

function lastMeaningfulLine(text: string): string | null {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const l = lines.at(-1);
  return l ? l.slice(0, 300) : null;
}
