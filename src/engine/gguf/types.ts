/** What the GGUF header reader hands to the model-file checks. */

export type MetadataValue = number | string | number[];

export interface GgufTensor {
  name: string;
  type: number;
}

export interface GgufHeader {
  version: number;
  tensorCount: number;
  metadataCount: number;
  alignment: number;
  /** The scalar values, strings up to 1 KiB and numeric arrays up to 512 long, by key, exactly as stored. */
  values: ReadonlyMap<string, MetadataValue>;
  tensors: GgufTensor[];
  /** Where the data section starts. */
  dataOffset: number;
  /** The end of the last tensor's data: the file must be at least this long. */
  dataEnd: number;
}
