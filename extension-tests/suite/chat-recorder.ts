import * as vscode from "vscode";

/**
 * A ChatResponseStream that records what the participant streams, and a chat request for a
 * prompt: code-server 1.100 has no Chat view, so the tests call the registered handler with these.
 */
export function recordingChatStream(): { stream: vscode.ChatResponseStream; parts: string[]; progress: string[]; buttons: vscode.Command[] } {
  const parts: string[] = [];
  const progress: string[] = [];
  const buttons: vscode.Command[] = [];
  const stream = {
    markdown: (v: string | vscode.MarkdownString) => parts.push(typeof v === "string" ? v : v.value),
    progress: (v: string) => progress.push(v),
    button: (c: vscode.Command) => buttons.push(c),
    anchor: () => undefined,
    reference: () => undefined,
    filetree: () => undefined,
    push: () => undefined,
  } as unknown as vscode.ChatResponseStream;
  return { stream, parts, progress, buttons };
}

export function chatRequest(prompt: string, command = "math"): vscode.ChatRequest {
  return { prompt, command, references: [], toolReferences: [], toolInvocationToken: undefined } as unknown as vscode.ChatRequest;
}
