import { quoted } from "../../shared/quoted.js";
import type { GgufTensor, MetadataValue } from "./types.js";

export const LLAMA_MAX_LAYERS = 512;
const LLAMA_MAX_EXPERTS = 1024;

const ROPE_SCALING_TYPES = new Set(["none", "linear", "yarn", "longrope"]);

/** Layer tensors whose shape llama.cpp derives from a hyperparameter (a 0 there is a GGML_ASSERT abort in create_tensor). */
const LAYER_TENSOR =
  /^blk\.(\d+)\.(ffn_up|ffn_gate|ffn_down|ffn_up_exps|ffn_gate_exps|ffn_down_exps|attn_q|attn_k|attn_v|attn_qkv|attn_output)\.weight$/;

/**
 * The architecture-independent GGML_ASSERTs of llama.cpp's load_hparams and create_tensor
 * (src/llama-model.cpp, src/llama-model-loader.cpp), checked on the metadata first: llama.cpp
 * aborts the process on them instead of failing the load.
 */
export function checkHyperparameters(
  values: ReadonlyMap<string, MetadataValue>,
  arch: string,
  tensors: GgufTensor[],
  corrupt: (detail: string) => never,
): void {
  const get = (key: string) => values.get(`${arch}.${key}`);
  const num = (v: MetadataValue | undefined) => (typeof v === "number" ? v : undefined);
  const perLayer = (key: string, layer: number): number | undefined => {
    const v = get(key);
    return Array.isArray(v) ? v[layer] : num(v);
  };
  const max = (key: string): number => {
    const v = get(key);
    return Array.isArray(v) ? Math.max(0, ...v) : (num(v) ?? 0);
  };
  const layers = num(get("block_count"));
  if (layers === undefined || !(layers >= 1 && layers <= LLAMA_MAX_LAYERS)) {
    corrupt(`its metadata says ${arch}.block_count = ${JSON.stringify(get("block_count"))} (llama.cpp runs 1 to ${LLAMA_MAX_LAYERS} layers)`);
  }
  const nextn = num(get("nextn_predict_layers")) ?? 0;
  if (nextn > layers) corrupt(`its metadata says ${arch}.nextn_predict_layers = ${nextn}, more than block_count = ${layers}`);
  const embedding = num(get("embedding_length"));
  if (embedding !== undefined && embedding < 1) corrupt(`its metadata says ${arch}.embedding_length = ${embedding}`);

  let experts = num(get("expert_count")) ?? 0;
  let used = max("expert_used_count");
  if ((arch === "hunyuan-dense" || arch === "hunyuan_vl") && experts <= 1) [experts, used] = [0, 0]; // llama.cpp's own fix-up
  const groups = num(get("expert_group_count")) ?? 0;
  const groupsUsed = num(get("expert_group_used_count")) ?? 0;
  const expertsDetail = `expert_count = ${experts}, expert_used_count = ${used}, expert_group_count = ${groups}, expert_group_used_count = ${groupsUsed}`;
  const expertsOk =
    experts <= LLAMA_MAX_EXPERTS &&
    used <= experts &&
    (experts > 0
      ? used > 0 && groups < experts && (groups <= 1 || (experts % groups === 0 && groupsUsed > 0 && groupsUsed < groups))
      : used === 0 && groups === 0);
  if (!expertsOk) corrupt(`its metadata has inconsistent experts (${expertsDetail})`);

  const ropeScaling = get("rope.scaling.type");
  if (ropeScaling !== undefined && !ROPE_SCALING_TYPES.has(String(ropeScaling))) {
    corrupt(`its metadata says ${arch}.rope.scaling.type = ${quoted(String(ropeScaling))} (llama.cpp knows ${[...ROPE_SCALING_TYPES].join(", ")})`);
  }

  // llama.cpp's per-layer sizes: a missing head count or feed-forward length is 0, a missing KV head
  // count is the head count, and the head size is key_length or embedding_length / head count of layer 0.
  const heads = (layer: number) => perLayer("attention.head_count", layer) ?? 0;
  const kvHeads = (layer: number) =>
    get("attention.head_count_kv") === undefined ? heads(layer) : (perLayer("attention.head_count_kv", layer) ?? 0);
  const headSize = (which: "key" | "value") => {
    const explicit = num(get(`attention.${which}_length`));
    if (explicit !== undefined) return { size: explicit, from: `${arch}.attention.${which}_length = ${explicit}` };
    if (embedding === undefined || heads(0) === 0) return undefined; // another arch-specific rule decides
    return { size: Math.floor(embedding / heads(0)), from: `${arch}.embedding_length / ${arch}.attention.head_count = ${embedding} / ${heads(0)}` };
  };
  const sizes: Record<string, (layer: number) => [number, string] | undefined> = {
    heads: (l) => [heads(l), `${arch}.attention.head_count = ${get("attention.head_count") === undefined ? "(missing, so 0)" : heads(l)}`],
    kvHeads: (l) => [kvHeads(l), `${arch}.attention.head_count_kv = ${kvHeads(l)}`],
    keySize: () => {
      const k = headSize("key");
      return k && [k.size, `a key size of ${k.from}`];
    },
    valueSize: () => {
      const v = headSize("value");
      return v && [v.size, `a value size of ${v.from}`];
    },
    ffn: (l) => [
      perLayer("feed_forward_length", l) ?? 0,
      `${arch}.feed_forward_length = ${get("feed_forward_length") === undefined ? "(missing, so 0)" : perLayer("feed_forward_length", l)}`,
    ],
    expertFfn: (l) => {
      const v = perLayer("expert_feed_forward_length", l);
      return v === undefined ? undefined : [v, `${arch}.expert_feed_forward_length = ${v}`];
    },
  };
  for (const t of tensors) {
    const m = LAYER_TENSOR.exec(t.name);
    if (!m) continue;
    const layer = Number(m[1]);
    const kind = m[2]!;
    const needs = kind.endsWith("_exps")
      ? ["expertFfn"]
      : kind.startsWith("ffn_")
        ? ["ffn"]
        : kind === "attn_k" || kind === "attn_v"
          ? ["kvHeads", "keySize", "valueSize"]
          : kind === "attn_qkv"
            ? ["heads", "kvHeads", "keySize", "valueSize"]
            : ["heads", "keySize", "valueSize"];
    for (const need of needs) {
      const found = sizes[need]!(layer);
      if (found && found[0] < 1) corrupt(`layer ${layer} has the tensor ${t.name}, but its metadata gives it ${found[1]}`);
    }
  }
}
