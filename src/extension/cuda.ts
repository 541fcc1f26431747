/**
 * "Arbitrage: Install CUDA Support" and "Arbitrage: Remove CUDA Support". The CUDA binding is too
 * big to ship in every VSIX (docs/extension.md), so it is fetched on demand from the npm registry
 * (arbitrage.npmRegistry, else the user's npm configuration) into the extension's global storage,
 * where the engine server resolves it from (ARBITRAGE_EXTRA_BINDINGS, src/server/extra-bindings.ts).
 *
 * The download runs here in the extension host, not in the engine process like the model
 * downloads: it replaces what the engine process loads, so the engine is stopped around it and
 * restarted after it, and the install must work when the engine cannot start at all (e.g. a
 * broken binding). It needs no node-llama-cpp; src/bindings/install.ts does the work.
 */
import * as vscode from "vscode";
import { installBindings, installedVersion, removeBindings, type InstalledPackage } from "../bindings/install.js";
import { bindingsRoot, cudaPackages } from "../shared/binding-packages.js";
import { npmRegistryUrl } from "../bindings/registry.js";
import { isArbitrageError } from "../protocol/index.js";
import type { EngineClient } from "./engineClient.js";
import { SECTION } from "./setting-keys.js";
import type { Settings } from "./settings.js";

export interface CudaContext {
  engine: EngineClient;
  settings: Settings;
  /** The extension's global storage folder. */
  storageDir: string;
  /** The engine's ARBITRAGE_EXTRA_BINDINGS folder (bindingsDir of the bundled node-llama-cpp's version). */
  bindingsDir: string;
  /** The bundled node-llama-cpp's version. */
  version: string;
}

/** What the command did (returned to callers such as the integration tests). */
export type CudaInstallOutcome =
  { status: "installed"; packages: InstalledPackage[] } | { status: "cancelled" } | { status: "failed"; message: string } | { status: "dismissed" };

/** `fallback`: also install the CUDA 12 fallback backend; undefined asks with a quick pick. */
export interface CudaInstallArgs {
  fallback?: boolean;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function askFallback(): Promise<boolean | undefined> {
  const pick = await vscode.window.showQuickPick(
    [
      { label: "CUDA 13", detail: "For NVIDIA drivers and CUDA runtimes of version 13 (the CUDA Toolkit 13 libraries).", fallback: false },
      {
        label: "CUDA 13 and the CUDA 12 fallback",
        detail: "Also a backend for CUDA 12 runtimes, used when the CUDA 13 one does not load (a second, larger download).",
        fallback: true,
      },
    ],
    { title: "Arbitrage: Install CUDA Support", placeHolder: "Which CUDA runtime is installed on this machine?" },
  );
  return pick?.fallback;
}

export async function installCudaSupport(c: CudaContext, args: CudaInstallArgs = {}): Promise<CudaInstallOutcome> {
  const fail = (message: string): CudaInstallOutcome => {
    void vscode.window.showErrorMessage(`Arbitrage: CUDA support was not installed — ${message}`);
    return { status: "failed", message };
  };
  const pkgs = cudaPackages();
  if ("problem" in pkgs) return fail(pkgs.problem);
  const fallback = typeof args.fallback === "boolean" ? args.fallback : await askFallback();
  if (fallback === undefined) return { status: "dismissed" };
  const packages = fallback ? [pkgs.main, pkgs.fallback] : [pkgs.main];
  let registry: string;
  try {
    registry = await npmRegistryUrl(vscode.workspace.getConfiguration(SECTION).get("npmRegistry"));
  } catch (e) {
    return fail((e as Error).message);
  }
  const hadModels = c.engine.hasLoadedModels;
  try {
    const installed = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "Arbitrage: installing CUDA support", cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort());
        // The notification's bar is shared by the packages: `increment`s add up to 100.
        let shown = 0;
        let lastReport = 0;
        try {
          return await installBindings({
            registry,
            packages,
            version: c.version,
            dir: c.bindingsDir,
            signal: abort.signal,
            onProgress: ({ packageName, receivedBytes, totalBytes }) => {
              const done = totalBytes ? Math.min(1, receivedBytes / totalBytes) : 0;
              // Chunks arrive every few KB: at most ~10 updates a second, plus each package's end.
              if (done < 1 && Date.now() - lastReport < 100) return;
              lastReport = Date.now();
              const overall = ((packages.indexOf(packageName) + done) / packages.length) * 100;
              progress.report({
                message: `${packageName}: ${mb(receivedBytes)}${totalBytes ? ` of ${mb(totalBytes)}` : ""}`,
                increment: Math.max(0, overall - shown),
              });
              shown = Math.max(shown, overall);
            },
            beforeReplace: () => c.engine.stop(),
          });
        } finally {
          sub.dispose();
        }
      },
    );
    c.engine.output.info(`CUDA support installed: ${installed.map((p) => `${p.name}@${p.version} (${mb(p.bytes)}) in ${p.path}`).join(", ")}`);
    await restartEngine(c, hadModels);
    const gpu = c.settings.snapshot.model.gpu;
    const use =
      gpu === "auto" || gpu === "cuda"
        ? "The engine uses it from the next request."
        : `Set arbitrage.gpu to "auto" or "cuda" to use it (it is "${gpu}").`;
    void vscode.window.showInformationMessage(`Arbitrage: CUDA support installed (${installed.map((p) => p.name).join(", ")}). ${use}`);
    return { status: "installed", packages: installed };
  } catch (e) {
    if (isArbitrageError(e, "cancelled")) {
      void vscode.window.showInformationMessage("Arbitrage: CUDA support install cancelled; nothing was changed.");
      return { status: "cancelled" };
    }
    return fail(e instanceof Error ? e.message : String(e));
  }
}

/** The engine process restarts with the new bindings: now when models were loaded (reloading them), else on the next request. */
async function restartEngine(c: CudaContext, reload: boolean): Promise<void> {
  await c.engine.stop();
  if (!reload) return;
  c.engine.ensureLoaded(c.settings.snapshot.model).catch((e: unknown) => {
    if (isArbitrageError(e, "cancelled")) return;
    void vscode.window
      .showErrorMessage(
        `Arbitrage: the models did not load after the CUDA install — ${e instanceof Error ? e.message : String(e)}`,
        "Show Engine Log",
      )
      .then((choice) => choice && c.engine.output.show(true));
  });
}

export async function removeCudaSupport(c: CudaContext): Promise<{ removed: boolean } | { status: "failed"; message: string }> {
  const pkgs = cudaPackages();
  const installed = "problem" in pkgs ? null : await installedVersion(c.bindingsDir, pkgs.main);
  const hadModels = c.engine.hasLoadedModels;
  // The engine process lets go of the binding before its folder goes.
  await c.engine.stop();
  try {
    const removed = await removeBindings(bindingsRoot(c.storageDir));
    c.engine.output.info(removed ? `CUDA support removed (${bindingsRoot(c.storageDir)})` : "CUDA support: nothing installed to remove");
    void vscode.window.showInformationMessage(
      removed ? `Arbitrage: CUDA support removed${installed ? ` (${installed})` : ""}.` : "Arbitrage: no CUDA support was installed.",
    );
    await restartEngine(c, hadModels);
    return { removed };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    void vscode.window.showErrorMessage(`Arbitrage: ${message}`);
    return { status: "failed", message };
  }
}
