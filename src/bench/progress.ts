/** What the bar shows (the bench's ProgressEvent, or calibration's); `etaMs` when the caller knows better than the bar's own rate. */
export interface BarEvent {
  done: number;
  total: number;
  phase: string;
  detail: string;
  etaMs?: number | null;
}

/** A one-line progress bar on stderr (a line per 10% when stderr is not a terminal). */
export function progressBar(stream: NodeJS.WriteStream = process.stderr, label = "bench"): { update: (e: BarEvent) => void; done: () => void } {
  const tty = stream.isTTY === true;
  const started = performance.now();
  let lastDecile = -1;
  let lastDraw = 0;
  let drawn = false;
  const eta = (e: BarEvent) => {
    if (e.etaMs === null || e.phase === "loading" || (e.etaMs === undefined && e.done === 0)) return "";
    const s = e.etaMs !== undefined ? e.etaMs / 1000 : (((performance.now() - started) / e.done) * (e.total - e.done)) / 1000;
    return s >= 60 ? ` ETA ${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : ` ETA ${Math.round(s)}s`;
  };
  return {
    update(e) {
      const frac = e.total > 0 ? e.done / e.total : 0;
      if (tty) {
        const now = performance.now();
        if (now - lastDraw < 80 && e.done < e.total) return;
        lastDraw = now;
        const width = 28;
        const fill = Math.round(frac * width);
        const line = `${label} [${"█".repeat(fill)}${"░".repeat(width - fill)}] ${(100 * frac).toFixed(0).padStart(3)}% ${e.done}/${e.total} ${e.phase}: ${e.detail}${eta(e)}`;
        stream.write(`\r${line.slice(0, (stream.columns || 120) - 1)}\u001b[K`);
        drawn = true;
      } else if (e.phase !== "loading") {
        const decile = Math.floor(frac * 10);
        if (decile > lastDecile) {
          lastDecile = decile;
          stream.write(`${label}: ${(100 * frac).toFixed(0)}% (${e.done}/${e.total}, ${e.phase})${eta(e)}\n`);
        }
      }
    },
    done() {
      if (tty && drawn) stream.write("\r\u001b[K");
    },
  };
}
