/**
 * A setting holding the http(s) base URL of a server: the URL ending with "/" (undefined when the
 * value is empty), or the problem to show. `name` is the setting, `what` the kind of server, `example` a URL of that kind.
 */
export function httpBaseUrlOf(name: string, value: unknown, what: string, example: string): { url: string | undefined } | { problem: string } {
  if (value === undefined || value === null || (typeof value === "string" && value.trim() === "")) return { url: undefined };
  let url: URL | null;
  try {
    url = typeof value === "string" ? new URL(value.trim()) : null;
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return { problem: `Invalid ${name} ${JSON.stringify(value)}: use the http(s) base URL of ${what} (e.g. ${example}), or leave it empty.` };
  }
  return { url: url.href.endsWith("/") ? url.href : `${url.href}/` };
}
