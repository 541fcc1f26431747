/** The last part of a path, for Windows and POSIX separators alike (a model's name in a message or a label). */
export function fileName(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i >= 0 ? path.slice(i + 1) : path;
}
