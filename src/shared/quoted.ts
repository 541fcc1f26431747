/** A string for an error message: JSON-quoted, cut to 80 characters (model files and output are untrusted). */
export function quoted(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}
