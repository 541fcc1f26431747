/**
 * "Arbitrage: Select Models…" and "Arbitrage: Download Recommended Models".
 * Model paths are machine-scoped settings, so they are written to the user (global) settings,
 * a pair as one change (`Settings.selectPair`: one reload of warm models, never a mixed pair).
 * Downloads run in the engine process with node-llama-cpp's downloader (resumable: a cancelled
 * download keeps its partial file and the next attempt continues it), from the `arbitrage.modelMirror`
 * mirror when one is set; each file is checked by SHA-256 and as a GGUF (src/server/download.ts).
 */
import * as vscode from "vscode";
import { isArbitrageError } from "../protocol/index.js";
import type { EngineClient } from "./engineClient.js";
import { modelMirrorOf, SECTION } from "./setting-keys.js";
import type { Settings } from "./settings.js";

export interface RecommendedPair {
  id: string;
  label: string;
  detail: string;
  draft: string;
  target: string;
}

/**
 * Draft/target pairs sharing a tokenizer family, as in the paper's setup (small draft, large
 * target). The pair the project has measured comes first, with what the measurement said; the
 * others are offered for their size ratio and say that nobody here measured them.
 */
export const RECOMMENDED_PAIRS: readonly RecommendedPair[] = [
  {
    id: "qwen2.5-coder-0.5b-1.5b",
    label: "Qwen2.5-Coder 0.5B → 1.5B (Q4_K_M) — measured",
    detail:
      "Code and math; ~0.5 GB + ~1.1 GB. The pair this project benchmarks (bench/README.md): on a small CPU the draft costs most of the target's time per token, so policy auto keeps the target alone; on a GPU the gap widens.",
    draft: "hf:Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF:Q4_K_M",
    target: "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:Q4_K_M",
  },
  {
    id: "qwen2.5-math-1.5b-7b",
    label: "Qwen2.5-Math 1.5B → 7B (Q4_K_M)",
    detail: "Math reasoning; ~1.1 GB + ~4.7 GB; not measured by the project",
    draft: "hf:bartowski/Qwen2.5-Math-1.5B-Instruct-GGUF:Q4_K_M",
    target: "hf:bartowski/Qwen2.5-Math-7B-Instruct-GGUF:Q4_K_M",
  },
  {
    id: "qwen2.5-coder-0.5b-7b",
    label: "Qwen2.5-Coder 0.5B → 7B (Q4_K_M)",
    detail: "Code; ~0.4 GB + ~4.7 GB; not measured by the project",
    draft: "hf:bartowski/Qwen2.5-Coder-0.5B-Instruct-GGUF:Q4_K_M",
    target: "hf:bartowski/Qwen2.5-Coder-7B-Instruct-GGUF:Q4_K_M",
  },
  {
    id: "llama-3.2-1b-3.1-8b",
    label: "Llama 3.2 1B → Llama 3.1 8B (Q4_K_M)",
    detail: "General reasoning; ~0.8 GB + ~4.9 GB; not measured by the project",
    draft: "hf:bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
    target: "hf:bartowski/Meta-Llama-3.1-8B-Instruct-GGUF:Q4_K_M",
  },
];

export async function selectModels(engine: EngineClient, settings: Settings, storage: vscode.Uri): Promise<void> {
  type Item = vscode.QuickPickItem & { action: "embedded" | "local" | RecommendedPair };
  const items: Item[] = [
    {
      label: "$(package) Embedded demo pair",
      description: "no download",
      detail: "Tiny arithmetic models shipped with the extension (embedded router).",
      action: "embedded",
    },
    {
      label: "$(file) Local GGUF files…",
      description: "choose draft and target",
      detail: "Pick two .gguf files; routing uses the model-free confidence router.",
      action: "local",
    },
    { label: "Recommended pairs (download)", kind: vscode.QuickPickItemKind.Separator, action: "embedded" },
    ...RECOMMENDED_PAIRS.map((p): Item => ({ label: `$(cloud-download) ${p.label}`, detail: p.detail, action: p })),
  ];
  const pick = await vscode.window.showQuickPick(items, { title: "Arbitrage: Select Models", placeHolder: "Which draft → target pair?" });
  if (!pick) return;
  if (pick.action === "embedded") {
    await settings.selectPair({ draft: "embedded", target: "embedded", router: "embedded" });
    void vscode.window.showInformationMessage("Arbitrage: using the embedded demo pair.");
  } else if (pick.action === "local") {
    const ask = async (role: string) =>
      (
        await vscode.window.showOpenDialog({
          canSelectMany: false,
          openLabel: `Use as ${role} model`,
          title: `Arbitrage: ${role} model (.gguf)`,
          filters: { "GGUF models": ["gguf"] },
        })
      )?.[0];
    const draft = await ask("draft");
    if (!draft) return;
    const target = await ask("target");
    if (!target) return;
    await settings.selectPair({ draft: draft.fsPath, target: target.fsPath, router: "confidence" });
    void vscode.window.showInformationMessage(`Arbitrage: draft ${draft.fsPath}, target ${target.fsPath} (confidence router).`);
  } else {
    await downloadPair(engine, settings, storage, pick.action);
  }
}

export async function downloadRecommended(engine: EngineClient, settings: Settings, storage: vscode.Uri): Promise<string[] | undefined> {
  const pick = await vscode.window.showQuickPick(
    RECOMMENDED_PAIRS.map((p) => ({ label: p.label, detail: `${p.detail} — ${p.draft} → ${p.target}`, pair: p })),
    { title: "Arbitrage: Download Recommended Models" },
  );
  return pick ? downloadPair(engine, settings, storage, pick.pair) : undefined;
}

/** Downloads both models of a pair and selects them; resolves with their paths (undefined when it did not). */
async function downloadPair(engine: EngineClient, settings: Settings, storage: vscode.Uri, pair: RecommendedPair): Promise<string[] | undefined> {
  const dir = vscode.Uri.joinPath(storage, "models");
  const mirror = modelMirrorOf(vscode.workspace.getConfiguration(SECTION).get("modelMirror"));
  if ("problem" in mirror) {
    void vscode.window.showErrorMessage(`Arbitrage: ${mirror.problem}`);
    return undefined;
  }
  try {
    const paths = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Arbitrage: downloading ${pair.label}`, cancellable: true },
      async (progress, token) => {
        const out: string[] = [];
        for (const [role, uri] of [
          ["draft", pair.draft],
          ["target", pair.target],
        ] as const) {
          let lastPct = 0;
          out.push(
            await engine.download(
              uri,
              dir.fsPath,
              mirror.endpoint,
              (p) => {
                const pct = p.totalBytes > 0 ? Math.floor((p.downloadedBytes / p.totalBytes) * 100) : 0;
                progress.report({ message: `${role}: ${pct}% of ${(p.totalBytes / 1e9).toFixed(2)} GB`, increment: (pct - lastPct) / 2 });
                lastPct = pct;
              },
              token,
            ),
          );
        }
        return out;
      },
    );
    await settings.selectPair({ draft: paths[0]!, target: paths[1]!, router: "confidence" });
    void vscode.window.showInformationMessage(`Arbitrage: downloaded and selected ${pair.label}.`);
    return paths;
  } catch (e) {
    if (isArbitrageError(e, "cancelled")) {
      void vscode.window.showInformationMessage("Arbitrage: download cancelled; run it again to resume.");
    } else {
      void vscode.window.showErrorMessage(`Arbitrage: download failed — ${e instanceof Error ? e.message : String(e)}`);
    }
    return undefined;
  }
}
