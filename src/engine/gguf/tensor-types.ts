/** The ggml tensor types: which llama.cpp evaluates, and the data layout of each. */

/** Tensor types llama.cpp's CPU backend evaluates; anything else (F64, integer tensors) aborts inside ggml. */
export const SUPPORTED_TENSOR_TYPES = new Set([0, 1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 29, 30, 34, 35, 39]);
export const GGML_TYPE_NAMES: Record<number, string> = { 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64" };

/**
 * Block size (elements) and bytes per block of every ggml type (ggml.c's type_traits in the bundled
 * llama.cpp); the types ggml removed (4, 5, 31-33, 36-38) have none and llama.cpp refuses them.
 */
export const TYPE_LAYOUT: Record<number, readonly [number, number]> = {
  0: [1, 4],
  1: [1, 2],
  2: [32, 18],
  3: [32, 20],
  6: [32, 22],
  7: [32, 24],
  8: [32, 34],
  9: [32, 36],
  10: [256, 84],
  11: [256, 110],
  12: [256, 144],
  13: [256, 176],
  14: [256, 210],
  15: [256, 292],
  16: [256, 66],
  17: [256, 74],
  18: [256, 98],
  19: [256, 50],
  20: [32, 18],
  21: [256, 110],
  22: [256, 82],
  23: [256, 136],
  24: [1, 1],
  25: [1, 2],
  26: [1, 4],
  27: [1, 8],
  28: [1, 8],
  29: [256, 56],
  30: [1, 2],
  34: [256, 54],
  35: [256, 66],
  39: [32, 17],
  40: [64, 36],
  41: [128, 18],
  42: [64, 18],
};
