/**
 * The serving engine's API key: kept in SecretStorage (never in settings.json), handed to the
 * engine process as ARBITRAGE_API_KEY in its environment, which it reads when it starts.
 */
import * as vscode from "vscode";
import type { EngineClient } from "./engineClient.js";

const API_KEY_SECRET = "arbitrage.serverApiKey";

/** Puts the stored key into the engine's environment (before the engine starts on the first request). */
export async function loadServerApiKey(secrets: vscode.SecretStorage, engineEnv: NodeJS.ProcessEnv): Promise<void> {
  const key = await secrets.get(API_KEY_SECRET);
  if (key) engineEnv.ARBITRAGE_API_KEY = key;
}

/** Arbitrage: Set Server API Key — kept in SecretStorage; the engine restarts with it on the next request. */
export async function setServerApiKey(
  secrets: vscode.SecretStorage,
  engineEnv: NodeJS.ProcessEnv,
  engine: EngineClient,
  output: vscode.LogOutputChannel,
): Promise<void> {
  const key = await vscode.window.showInputBox({
    title: "Arbitrage: server API key",
    prompt:
      "The API key of the serving engine (arbitrage.targetUrl / draftUrl). Kept in VS Code's secret storage, never in settings. Empty removes it.",
    password: true,
    ignoreFocusOut: true,
  });
  if (key === undefined) return;
  if (key === "") {
    await secrets.delete(API_KEY_SECRET);
    delete engineEnv.ARBITRAGE_API_KEY;
  } else {
    await secrets.store(API_KEY_SECRET, key);
    engineEnv.ARBITRAGE_API_KEY = key;
  }
  // The key reaches the engine through its process environment: restart it (lazily, on the next request).
  await engine.stop();
  output.info(`server API key ${key === "" ? "removed" : "stored in secret storage"}; the engine restarts with it on the next request`);
  void vscode.window.showInformationMessage(`Arbitrage: server API key ${key === "" ? "removed" : "saved in VS Code's secret storage"}.`);
}
