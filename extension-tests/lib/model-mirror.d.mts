export interface MirrorRequest {
  method: string;
  path: string;
  range: string | null;
}
export interface ModelMirror {
  /** Base URL, ending in "/" (the `arbitrage.modelMirror` setting, or the download's `endpoint`). */
  endpoint: string;
  /** SHA-256 of the served GGUF (hex). */
  sha256: string;
  log: MirrorRequest[];
  close(): void;
}
export function startModelMirror(gguf: Buffer, log?: MirrorRequest[]): Promise<ModelMirror>;
