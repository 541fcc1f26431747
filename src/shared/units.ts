/** Bytes as GiB for a message or a label: "1.2" (no unit: the caller's sentence says "GiB"). */
export function gib(bytes: number, decimals = 1): string {
  return (bytes / 2 ** 30).toFixed(decimals);
}
