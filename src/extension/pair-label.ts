/** The pair's short name for the status bar, the panel header and the chat: "draft → target", with the servers' hosts. */
import type { ModelConfig } from "../engine/types.js";
import { fileName } from "../shared/file-name.js";

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function shortName(p: string): string {
  if (p === "embedded") return "embedded";
  return fileName(p).replace(/\.gguf$/i, "");
}

export function pairLabel(m: ModelConfig): string {
  const where = (role: "draft" | "target") => (m.remote?.[role] ? ` @ ${hostOf(m.remote[role]!.url)}` : "");
  if (m.draft === "embedded" && m.target === "embedded" && !m.remote) return "embedded demo pair";
  return `${shortName(m.draft)}${where("draft")} → ${shortName(m.target)}${where("target")}`;
}
