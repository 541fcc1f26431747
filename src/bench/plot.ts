import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { ResultRow, Summary } from "./aggregate.js";
import { isSpeculativeMethod, type MethodId } from "./methods.js";

/**
 * The accuracy-vs-latency frontier as an SVG (vega-lite, rendered headless). One line per
 * method through its thresholds, target and draft as single points, the matched-accuracy band
 * (within 1 point of the target), and each method's matched setting ringed.
 */

type Style = { color: string; dash: number[]; width: number };

const STYLE: Record<Exclude<MethodId, `speculative-k${number}`>, Style> = {
  target: { color: "#222222", dash: [], width: 2 },
  draft: { color: "#9a9a9a", dash: [], width: 2 },
  "rsd-prm": { color: "#e8871e", dash: [], width: 2 },
  "rsd-exact": { color: "#f2c18d", dash: [5, 3], width: 2 },
  arbitrage: { color: "#1f5fbf", dash: [], width: 3.5 },
  "arbitrage-confidence": { color: "#79a7e3", dash: [], width: 2 },
  oracle: { color: "#2a9d4b", dash: [6, 4], width: 2 },
  random: { color: "#b03a48", dash: [1, 3], width: 2 },
  "arbitrage+spec": { color: "#0b2e6b", dash: [], width: 3.5 },
  "rsd+spec": { color: "#a85a00", dash: [2, 2], width: 2 },
};

/** Token-level speculative decoding: purple points, darker for more draft tokens per round. */
const SPECULATIVE_SHADES = ["#c9a3e8", "#9b5fd0", "#6a2fa3", "#44106e"];

function styleOf(id: MethodId): Style {
  const k = /^speculative-k(\d+)$/.exec(id);
  if (!k) return STYLE[id as keyof typeof STYLE];
  const shade = Math.min(SPECULATIVE_SHADES.length - 1, Math.max(0, Math.round(Math.log2(Number(k[1]))) - 1));
  return { color: SPECULATIVE_SHADES[shade]!, dash: [], width: 2 };
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

type Corner = "bottom-right" | "top-right" | "bottom-left" | "top-left";

/**
 * The legend's corner: the first (bottom-right preferred) whose quarter-height, 40%-wide box holds
 * no point, so the legend never hides a setting (the default corner is where the draft sits on
 * some pairs).
 */
export function legendCorner(points: readonly { latency: number; accuracy: number }[], xMax: number, yMin: number, yMax: number): Corner {
  const fx = (p: { latency: number }) => (xMax > 0 ? p.latency / xMax : 0);
  const fy = (p: { accuracy: number }) => (yMax > yMin ? (p.accuracy - yMin) / (yMax - yMin) : 0);
  const empty = (right: boolean, top: boolean) => !points.some((p) => (right ? fx(p) > 0.6 : fx(p) < 0.4) && (top ? fy(p) > 0.72 : fy(p) < 0.28));
  const order: [Corner, boolean, boolean][] = [
    ["bottom-right", true, false],
    ["top-right", true, true],
    ["bottom-left", false, false],
    ["top-left", false, true],
  ];
  return order.find(([, r, t]) => empty(r, t))?.[0] ?? "bottom-right";
}

/** The plot's subtitle: arbitrage's ratios at matched accuracy, and how to read the picture. */
function subtitleOf(summary: Summary): string[] {
  const fmt = (v: number | null, suffix: string, digits = 2) => (v === null ? "n/a" : `${v.toFixed(digits)}${suffix}`);
  // Lines are kept short: without a canvas, vega estimates text width generously and would widen the picture.
  return [
    `Arbitrage at matched accuracy: ${fmt(summary.speedupVsTarget, "× faster than target")}, ${fmt(summary.speedupVsRsd, "× faster than rsd (PRM)")},`,
    `${fmt(summary.oracleLatencyRatio, "× the oracle's latency")}. Up and left is better; lines join thresholds,`,
    summary.matchedPass === true
      ? "rings: each method's matched setting (band), re-run side by side, so off its line."
      : "rings mark each method's fastest setting within 1 point of target accuracy (band).",
  ];
}

/** The matched-accuracy band (target − 1 point up to the target) and its caption. */
function bandLayers(targetAcc: number, yMin: number, yMax: number, yScale: Record<string, unknown>): Record<string, unknown>[] {
  return [
    {
      data: { values: [{ lo: Math.max(yMin, targetAcc - 1), hi: Math.min(yMax, Math.max(targetAcc, yMin)) }] },
      mark: { type: "rect", color: "#e9eef7", opacity: 0.9 },
      encoding: { y: { field: "lo", type: "quantitative", scale: yScale }, y2: { field: "hi" } },
    },
    {
      data: { values: [{ a: targetAcc, label: "matched accuracy (target − 1 pt)" }] },
      mark: { type: "text", align: "left", baseline: "bottom", dx: 4, dy: -2, fontSize: 10, color: "#6b7a99", x: 0 },
      encoding: { y: { field: "a", type: "quantitative", scale: yScale }, text: { field: "label" } },
    },
  ];
}

/** "N× faster than target" beside arbitrage's matched rings. */
function speedupLabels(
  summary: Summary,
  points: readonly { latency: number }[],
  x: Record<string, unknown>,
  y: Record<string, unknown>,
): Record<string, unknown>[] {
  const layers: Record<string, unknown>[] = [];
  for (const arb of summary.matched.filter((m) => (m.method === "arbitrage" || m.method === "arbitrage+spec") && Number.isFinite(m.latencyMs))) {
    if (arb.speedupVsTarget === null) continue;
    const versus = arb.speedupVsSpeculative !== null ? `, ${arb.speedupVsSpeculative.toFixed(2)}× speculative` : "";
    const below = arb.method === "arbitrage+spec";
    // Right of the ring, unless the ring is the slowest point (the label would run past the plot).
    const rightmost = arb.latencyMs >= 0.75 * Math.max(...points.map((p) => p.latency));
    layers.push({
      data: {
        values: [
          {
            accuracy: round(100 * arb.accuracy, 2),
            latency: round(arb.latencyMs, 2),
            text: `${arb.speedupVsTarget.toFixed(2)}× faster than target${versus}`,
          },
        ],
      },
      mark: {
        type: "text",
        align: rightmost ? "right" : "left",
        baseline: below ? "top" : "bottom",
        dx: rightmost ? -12 : 12,
        dy: below ? 8 : -8,
        fontSize: 12,
        fontWeight: "bold",
        color: styleOf(arb.method).color,
      },
      encoding: { x, y, text: { field: "text" } },
    });
  }
  return layers;
}

export function frontierSpec(rows: readonly ResultRow[], summary: Summary, title: string): Record<string, unknown> {
  const labels = [...new Set(rows.map((r) => r.label))];
  const methodOf = new Map(rows.map((r) => [r.label, r.method]));
  const points = rows.map((r) => ({
    method: r.label,
    threshold: r.threshold,
    t: r.threshold === null ? "" : String(r.threshold),
    accuracy: round(100 * r.accuracy, 2),
    latency: round(r.latencyMs, 2),
    swept: r.threshold !== null,
    main: r.method === "arbitrage",
    thick: r.method === "arbitrage" || r.method === "arbitrage+spec",
  }));
  const matched = summary.matched
    .filter((m) => m.threshold !== null || m.method === "target" || m.method === "draft" || isSpeculativeMethod(m.method))
    .filter((m) => Number.isFinite(m.latencyMs))
    .map((m) => ({ method: m.label, accuracy: round(100 * m.accuracy, 2), latency: round(m.latencyMs, 2) }));
  const targetAcc = summary.targetAccuracy === null ? null : 100 * summary.targetAccuracy;
  const accs = points.map((p) => p.accuracy);
  const yMin = Math.max(0, Math.floor((Math.min(...accs) - 3) / 5) * 5);
  const yMax = Math.min(100, Math.ceil((Math.max(...accs) + 2) / 5) * 5);
  // The x axis is nice-rounded from 0; 1.1 × the slowest point is close enough to place the legend.
  const corner = legendCorner(points, 1.1 * Math.max(...points.map((p) => p.latency)), yMin, yMax);
  const color = { domain: labels, range: labels.map((l) => styleOf(methodOf.get(l)!).color) };
  const dash = { domain: labels, range: labels.map((l) => styleOf(methodOf.get(l)!).dash) };
  const x = { field: "latency", type: "quantitative", title: "mean latency per problem (ms)  ← faster", scale: { zero: true, nice: true } };
  const yScale = { domain: [yMin, yMax], zero: false, clamp: true };
  const y = { field: "accuracy", type: "quantitative", title: "final-answer accuracy (%)", scale: yScale };

  const subtitle = subtitleOf(summary);

  const layers: Record<string, unknown>[] = [];
  if (targetAcc !== null) layers.push(...bandLayers(targetAcc, yMin, yMax, yScale));
  layers.push(
    {
      transform: [{ filter: "datum.swept" }],
      mark: { type: "line", strokeWidth: 2, interpolate: "linear" },
      encoding: {
        x,
        y,
        order: { field: "threshold", type: "quantitative" },
        color: {
          field: "method",
          type: "nominal",
          scale: color,
          legend: { title: null, orient: corner, labelFontSize: 11, labelLimit: 400, symbolStrokeWidth: 3, fillColor: "white", padding: 6 },
        },
        strokeDash: { field: "method", type: "nominal", scale: dash, legend: null },
        strokeWidth: { condition: { test: "datum.thick", value: 3.5 }, value: 2 },
      },
    },
    {
      mark: { type: "point", filled: true, opacity: 1 },
      encoding: {
        x,
        y,
        color: { field: "method", type: "nominal", scale: color, legend: null },
        shape: { condition: { test: "!datum.swept", value: "diamond" }, value: "circle" },
        size: { condition: { test: "!datum.swept", value: 160 }, value: 36 },
      },
    },
    {
      transform: [{ filter: "!datum.swept" }],
      mark: { type: "text", align: "left", dx: 9, dy: 0, fontSize: 12, fontWeight: "bold" },
      encoding: { x, y, text: { field: "method" }, color: { field: "method", type: "nominal", scale: color, legend: null } },
    },
    {
      transform: [{ filter: "datum.main" }],
      mark: { type: "text", align: "center", dy: -9, fontSize: 9, color: "#1f5fbf" },
      encoding: { x, y, text: { field: "t" } },
    },
    {
      data: { values: matched },
      mark: { type: "point", filled: false, size: 340, strokeWidth: 2 },
      encoding: { x, y, color: { field: "method", type: "nominal", scale: color, legend: null } },
    },
  );
  layers.push(...speedupLabels(summary, points, x, y));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: title, subtitle, anchor: "start", fontSize: 15, subtitleFontSize: 11, subtitleColor: "#444" },
    width: 760,
    height: 440,
    background: "white",
    padding: 16,
    config: {
      font: "Helvetica, Arial, sans-serif",
      axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#eeeeee" },
      view: { stroke: "#cccccc" },
    },
    data: { values: points },
    layer: layers,
  };
}

export async function renderFrontierSvg(rows: readonly ResultRow[], summary: Summary, title: string): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  // vega-lite warns on stderr about layered legends it merges as intended; keep stderr for the progress bar.
  const quiet = {
    level: () => quiet,
    warn: () => quiet,
    info: () => quiet,
    debug: () => quiet,
    error: (...m: unknown[]) => {
      throw new Error(m.join(" "));
    },
  };
  const compiled = vl.compile(frontierSpec(rows, summary, title) as never, { logger: quiet as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function writeFrontierPlot(path: string, rows: readonly ResultRow[], summary: Summary, title: string): Promise<void> {
  const svg = await renderFrontierSvg(rows, summary, title);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, svg);
}
