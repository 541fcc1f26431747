#!/usr/bin/env bash
# The prepared GPU check (issue 12): on a machine with an NVIDIA GPU, from a copy of this
# repository whose node_modules came from `npm ci`, with no network at all, in one go and in
# under 5 minutes. Runs the engine on the embedded pair with each backend (cpu, vulkan, cuda)
# through the bench CLI (a small problem subset, a small threshold grid) and prints ONE JSON
# object on stdout:
#   backends.<b>.loaded, .reason (why not), .report (the engine's GpuReport: devices, layers, VRAM),
#   .tokensPerSecond {draft, target} (each model alone, from the bench's ms per generated token),
#   .speedupVsTarget (arbitrage at the target's accuracy, on this backend), .matched (every method),
#   .sameAsCpu {identical, total} (final answers equal to the CPU run's, per problem and setting).
# Backends that do not load are reported with the engine's reason; the script exits 0 whenever
# the CPU run worked, so it also runs (and says why) on a machine without a GPU.
#
#   bash scripts/gpu-check.sh            # GPU_CHECK_LIMIT=24 problems, GPU_CHECK_THRESHOLDS=0,0.1,0.3,0.5,0.7,1
# Progress goes to stderr; per-backend bench output to $GPU_CHECK_DIR (default: a temp folder).
set -uo pipefail
cd "$(dirname "$0")/.."
LIMIT=${GPU_CHECK_LIMIT:-24}
THRESHOLDS=${GPU_CHECK_THRESHOLDS:-0,0.1,0.3,0.5,0.7,1}
PER_BACKEND_S=${GPU_CHECK_TIMEOUT_S:-80}
OUT=${GPU_CHECK_DIR:-$(mktemp -d)}
mkdir -p "$OUT"
started=$(date +%s)

# Offline: nothing here may reach a network (node-llama-cpp never downloads with build "never").
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
node --version >/dev/null 2>&1 || { echo '{"error":"node is not installed"}'; exit 1; }
[ -d node_modules/node-llama-cpp ] || { echo '{"error":"node_modules/node-llama-cpp missing: run npm ci first"}'; exit 1; }
if ! npm run --silent build >"$OUT/build.log" 2>&1; then
  echo "{\"error\":\"npm run build failed, see $OUT/build.log\"}"
  exit 1
fi

for backend in cpu vulkan cuda; do
  echo "gpu-check: $backend ..." >&2
  t0=$(date +%s)
  timeout "$PER_BACKEND_S" node bin/arbitrage.mjs bench --json --no-plot --gpu "$backend" \
    --policies target,draft,arbitrage --limit "$LIMIT" --thresholds "$THRESHOLDS" --warmup 1 \
    >"$OUT/$backend.json" 2>"$OUT/$backend.err"
  echo "$?" >"$OUT/$backend.rc"
  echo "gpu-check: $backend done in $(($(date +%s) - t0)) s (rc $(cat "$OUT/$backend.rc"))" >&2
done

OUT="$OUT" STARTED="$started" LIMIT="$LIMIT" THRESHOLDS="$THRESHOLDS" node --input-type=module -e '
import { readFileSync } from "node:fs";
import { join } from "node:path";
const out = process.env.OUT;
const read = (f) => { try { return readFileSync(join(out, f), "utf8"); } catch { return ""; } };
const runs = {};
for (const b of ["cpu", "vulkan", "cuda"]) {
  const rc = Number(read(`${b}.rc`).trim());
  let bench = null;
  try { bench = rc === 0 ? JSON.parse(read(`${b}.json`)) : null; } catch { bench = null; }
  runs[b] = { rc, bench, err: read(`${b}.err`) };
}
const rowKey = (r) => `${r.method}@${r.threshold}`;
const cpuRows = new Map((runs.cpu.bench?.results ?? []).map((r) => [rowKey(r), r]));
const tps = (ms) => (ms ? Math.round(1000 / ms) : null);
const backends = {};
for (const [b, run] of Object.entries(runs)) {
  if (!run.bench) {
    // The engine names why in its one-line error (the last "arbitrage: error:" line); a timeout says so.
    const line = run.err.split("\n").filter((l) => l.startsWith("arbitrage: error:")).pop();
    const reason = run.rc === 124 ? `timed out after ${process.env.GPU_CHECK_TIMEOUT_S ?? 80} s` : (line ?? run.err.trim().split("\n").pop() ?? `exit ${run.rc}`).replace(/^arbitrage: error: /, "");
    backends[b] = { loaded: false, reason };
    continue;
  }
  const { meta, results, summary } = run.bench;
  let identical = 0, total = 0;
  for (const r of results) {
    const c = cpuRows.get(rowKey(r));
    if (!c) continue;
    r.answers.forEach((a, i) => { total++; if (a === c.answers[i]) identical++; });
  }
  backends[b] = {
    loaded: true,
    report: meta.gpu,
    tokensPerSecond: { draft: tps(summary.msPerToken.draft), target: tps(summary.msPerToken.target) },
    targetAccuracy: summary.targetAccuracy,
    arbitrageThreshold: summary.arbitrageThreshold,
    speedupVsTarget: summary.speedupVsTarget,
    matched: summary.matched.map((m) => ({ method: m.method, threshold: m.threshold, accuracy: m.accuracy, latencyMs: Math.round(m.latencyMs * 10) / 10, speedupVsTarget: m.speedupVsTarget })),
    sameAsCpu: b === "cpu" ? null : { identical, total },
    wallSeconds: meta.wallSeconds,
  };
}
const cpuMeta = runs.cpu.bench?.meta;
console.log(JSON.stringify({
  check: "arbitrage gpu-check",
  date: new Date().toISOString(),
  machine: { cpu: cpuMeta?.cpu ?? null, node: process.version, threads: cpuMeta?.threads ?? null },
  pair: "embedded",
  problems: Number(process.env.LIMIT),
  thresholds: process.env.THRESHOLDS.split(",").map(Number),
  backends,
  wallSeconds: Math.round(Date.now() / 1000 - Number(process.env.STARTED)),
}, null, 2));
process.exit(backends.cpu.loaded ? 0 : 1);
'
