"""Minimal GGUF v3 writer (F32 tensors only) and llama-arch export of training/model.py models."""
import struct

import numpy as np

from model import BOS, CTX, EOS, EPS, ROPE_BASE, VOCAB

T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY = 4, 5, 6, 7, 8, 9
ALIGN = 32


def _s(x):
    b = x.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _val(vtype, v):
    if vtype == T_UINT32:
        return struct.pack("<I", v)
    if vtype == T_INT32:
        return struct.pack("<i", v)
    if vtype == T_FLOAT32:
        return struct.pack("<f", v)
    if vtype == T_BOOL:
        return struct.pack("<B", 1 if v else 0)
    if vtype == T_STRING:
        return _s(v)
    raise ValueError(vtype)


def write_gguf(path, kvs, tensors):
    """kvs: list of (key, type, value) where type may be (T_ARRAY, elem_type) for arrays.
    tensors: list of (name, np.ndarray float32) in PyTorch row-major shape."""
    out = bytearray()
    out += b"GGUF" + struct.pack("<I", 3) + struct.pack("<QQ", len(tensors), len(kvs))
    for key, vtype, v in kvs:
        out += _s(key)
        if isinstance(vtype, tuple):
            et = vtype[1]
            out += struct.pack("<I", T_ARRAY) + struct.pack("<I", et) + struct.pack("<Q", len(v))
            for e in v:
                out += _val(et, e)
        else:
            out += struct.pack("<I", vtype) + _val(vtype, v)
    offset = 0
    datas = []
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        out += _s(name) + struct.pack("<I", arr.ndim)
        for n in reversed(arr.shape):  # ggml ne order: fastest dimension first
            out += struct.pack("<Q", n)
        out += struct.pack("<I", 0)  # GGML_TYPE_F32
        out += struct.pack("<Q", offset)
        b = arr.tobytes()
        datas.append(b)
        offset += len(b)
        offset += (-offset) % ALIGN
    out += b"\0" * ((-len(out)) % ALIGN)
    for b in datas:
        out += b
        out += b"\0" * ((-len(b)) % ALIGN)
    with open(path, "wb") as f:
        f.write(out)


def _bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def export_llama(model, path, role, extra_kvs=()):
    c = model.c
    b2u = _bytes_to_unicode()
    tokens = [b2u[i] for i in range(256)] + ["<s>", "</s>"]
    ttypes = [1] * 256 + [3, 3]
    kvs = [
        ("general.architecture", T_STRING, "llama"),
        ("general.name", T_STRING, "arbitrage-" + role),
        ("general.file_type", T_UINT32, 0),
        ("llama.context_length", T_UINT32, CTX),
        ("llama.embedding_length", T_UINT32, c.d_model),
        ("llama.block_count", T_UINT32, c.n_layer),
        ("llama.feed_forward_length", T_UINT32, c.d_ff),
        ("llama.attention.head_count", T_UINT32, c.n_head),
        ("llama.attention.head_count_kv", T_UINT32, c.n_head),
        ("llama.rope.dimension_count", T_UINT32, c.head_dim),
        ("llama.rope.freq_base", T_FLOAT32, ROPE_BASE),
        ("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, c.eps),
        ("llama.vocab_size", T_UINT32, VOCAB),
        ("tokenizer.ggml.model", T_STRING, "gpt2"),
        ("tokenizer.ggml.pre", T_STRING, "default"),
        ("tokenizer.ggml.tokens", (T_ARRAY, T_STRING), tokens),
        ("tokenizer.ggml.token_type", (T_ARRAY, T_INT32), ttypes),
        ("tokenizer.ggml.merges", (T_ARRAY, T_STRING), []),
        ("tokenizer.ggml.bos_token_id", T_UINT32, BOS),
        ("tokenizer.ggml.eos_token_id", T_UINT32, EOS),
        ("tokenizer.ggml.add_bos_token", T_BOOL, True),
        ("tokenizer.ggml.add_eos_token", T_BOOL, False),
        ("arbitrage.role", T_STRING, role),
    ] + list(extra_kvs)
    sd = {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()}
    ts = [("token_embd.weight", sd["tok.weight"])]
    for i in range(c.n_layer):
        p = "blocks.%d." % i
        g = "blk.%d." % i
        ts += [
            (g + "attn_norm.weight", sd[p + "attn_norm.weight"]),
            (g + "attn_q.weight", sd[p + "wq.weight"]),
            (g + "attn_k.weight", sd[p + "wk.weight"]),
            (g + "attn_v.weight", sd[p + "wv.weight"]),
            (g + "attn_output.weight", sd[p + "wo.weight"]),
            (g + "ffn_norm.weight", sd[p + "ffn_norm.weight"]),
            (g + "ffn_gate.weight", sd[p + "w_gate.weight"]),
            (g + "ffn_up.weight", sd[p + "w_up.weight"]),
            (g + "ffn_down.weight", sd[p + "w_down.weight"]),
        ]
    ts += [("output_norm.weight", sd["norm.weight"]), ("output.weight", sd["head.weight"])]
    write_gguf(path, kvs, ts)


CLASSIFIER_KVS = [
    ("arbitrage.classifier.query", T_STRING, "\n\n?"),
    ("arbitrage.classifier.positive", T_STRING, "Y"),
    ("arbitrage.classifier.negative", T_STRING, "N"),
]
