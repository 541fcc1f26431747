export interface RegistryPackage {
  name: string;
  version: string;
  tgz: string;
  /** Published instead of the tarball's real integrity. */
  integrity?: string;
  /** Send this many bytes of the tarball, then nothing. */
  stallAfterBytes?: number;
}
export interface NpmRegistry {
  url: string;
  log: { method: string; path: string }[];
  close(): Promise<void>;
}
export function integrityOf(path: string): Promise<string>;
export function packedPackage(root: string, name: string): { file: string; version: string; bytes: number };
export function startNpmRegistry(packages: RegistryPackage[], log?: { method: string; path: string }[]): Promise<NpmRegistry>;
export function deadRegistryUrl(): Promise<string>;
