"""Import a committed models/<role>.gguf back into a training checkpoint (the inverse of export.py).

The files are written by gguf_writer.py (GGUF v3, F32 tensors, llama arch, q/k unpermuted), so the
import is a plain reader: metadata -> model.Config, each tensor's ggml shape reversed -> the PyTorch
weight. The training caches are not part of the repository; this lets every later stage (fine-tunes,
rollouts, classifiers) start from the committed models instead of retraining from scratch.

usage: python import_gguf.py <role> [in.gguf] [out.pt]      (default: models/<role>.gguf -> .cache/<role>.final.pt)
       python import_gguf.py --all                           (the four roles)
"""
import os
import struct
import sys

import numpy as np
import torch

from common import CACHE, MODELS, log
from model import LM, Config

T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY, T_UINT64, T_INT64, \
    T_FLOAT64 = range(13)
_SCALAR = {T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h", T_UINT32: "<I", T_INT32: "<i",
           T_FLOAT32: "<f", T_BOOL: "<B", T_UINT64: "<Q", T_INT64: "<q", T_FLOAT64: "<d"}
GGML_F32 = 0


class _Reader:
    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = bytes(self.buf[self.pos:self.pos + n]).decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype == T_STRING:
            return self.string()
        if vtype == T_ARRAY:
            et, n = self.take("<I"), self.take("<Q")
            return [self.value(et) for _ in range(n)]
        return self.take(_SCALAR[vtype])


def read_gguf(path):
    """Return (metadata dict, {tensor name: float32 ndarray in PyTorch row-major shape})."""
    with open(path, "rb") as f:
        buf = f.read()
    r = _Reader(buf)
    if buf[:4] != b"GGUF":
        raise ValueError("%s: not a GGUF file" % path)
    r.pos = 4
    version = r.take("<I")
    if version != 3:
        raise ValueError("%s: GGUF version %d, expected 3" % (path, version))
    n_tensors, n_kv = r.take("<Q"), r.take("<Q")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.take("<I"))
    align = meta.get("general.alignment", 32)
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        ne = [r.take("<Q") for _ in range(r.take("<I"))]
        ttype, offset = r.take("<I"), r.take("<Q")
        if ttype != GGML_F32:
            raise ValueError("%s: tensor %s has ggml type %d; only F32 files (export.py) can be imported" % (path, name, ttype))
        infos.append((name, ne, offset))
    data_start = r.pos + (-r.pos) % align
    tensors = {}
    for name, ne, offset in infos:
        count = int(np.prod(ne))
        a = np.frombuffer(buf, dtype="<f4", count=count, offset=data_start + offset)
        tensors[name] = a.reshape(list(reversed(ne))).copy()
    return meta, tensors


def model_from_gguf(path):
    meta, ts = read_gguf(path)
    if meta.get("general.architecture") != "llama":
        raise ValueError("%s: architecture %r, expected llama" % (path, meta.get("general.architecture")))
    cfg = Config(meta["llama.block_count"], meta["llama.embedding_length"], meta["llama.attention.head_count"],
                 meta["llama.feed_forward_length"], meta.get("arbitrage.role", "draft"),
                 meta["llama.attention.layer_norm_rms_epsilon"])
    names = {"tok.weight": "token_embd.weight", "norm.weight": "output_norm.weight", "head.weight": "output.weight"}
    per_block = {"attn_norm.weight": "attn_norm.weight", "wq.weight": "attn_q.weight", "wk.weight": "attn_k.weight",
                 "wv.weight": "attn_v.weight", "wo.weight": "attn_output.weight", "ffn_norm.weight": "ffn_norm.weight",
                 "w_gate.weight": "ffn_gate.weight", "w_up.weight": "ffn_up.weight", "w_down.weight": "ffn_down.weight"}
    for i in range(cfg.n_layer):
        for k, g in per_block.items():
            names["blocks.%d.%s" % (i, k)] = "blk.%d.%s" % (i, g)
    model = LM(cfg)
    sd = model.state_dict()
    missing = sorted(set(names.values()) - set(ts))
    if missing or len(ts) != len(names):
        raise ValueError("%s: tensors do not match a %d-layer llama model (missing %s)" % (path, cfg.n_layer, missing))
    state = {}
    for k, g in names.items():
        t = torch.from_numpy(ts[g])
        if tuple(t.shape) != tuple(sd[k].shape):
            raise ValueError("%s: %s has shape %s, expected %s" % (path, g, tuple(t.shape), tuple(sd[k].shape)))
        state[k] = t
    model.load_state_dict(state)
    model.eval()
    return model, meta


def import_role(role, src=None, out=None):
    src = src or os.path.join(MODELS, role + ".gguf")
    out = out or os.path.join(CACHE, role + ".final.pt")
    model, meta = model_from_gguf(src)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    ck = {"config": model.c.to_dict(), "state": model.state_dict(), "step": None,
          "args": {"imported_from": os.path.relpath(src, os.path.dirname(CACHE))}, "elapsed": 0}
    if "arbitrage.classifier.offset" in meta:  # fit-router-mix.ts's calibration, kept for a re-export
        ck["offset"] = float(meta["arbitrage.classifier.offset"])
    if "arbitrage.classifier.logit_scale" in meta:  # fit-router-mix.ts's confidence mix, kept for a re-export
        prefix = "arbitrage.classifier.confidence."
        ck["mix"] = {"logit_scale": float(meta["arbitrage.classifier.logit_scale"]),
                     "confidence": {k[len(prefix):]: float(v) for k, v in meta.items() if k.startswith(prefix)}}
    torch.save(ck, out)
    log("imported", src, "->", out, model.n_params(), "params", model.c.to_dict())
    return out


def main():
    if sys.argv[1:] == ["--all"]:
        for role in ("draft", "target", "router", "prm"):
            import_role(role)
        return
    import_role(sys.argv[1], *(sys.argv[2:4]))


if __name__ == "__main__":
    main()
