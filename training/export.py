"""Export a training checkpoint to models/<role>.gguf (F32).

usage: python export.py <checkpoint.pt> <role> [out.gguf]
"""
import os
import sys

import torch

from common import MODELS
from gguf_writer import CLASSIFIER_KVS, T_STRING, export_llama
from model import LM, Config


def load_ckpt(path):
    ck = torch.load(path, map_location="cpu")
    m = LM(Config.from_dict(ck["config"]))
    m.load_state_dict(ck["state"])
    m.eval()
    return m, ck


def main():
    ck_path, role = sys.argv[1], sys.argv[2]
    out = sys.argv[3] if len(sys.argv) > 3 else os.path.join(MODELS, role + ".gguf")
    m, ck = load_ckpt(ck_path)
    extra = list(CLASSIFIER_KVS) if role in ("router", "prm") else []
    if role in ("router", "prm") and ck.get("offset") is not None:  # router_offset.py
        extra.append(("arbitrage.classifier.offset", T_STRING, repr(float(ck["offset"]))))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    export_llama(m, out, role, extra)
    print("exported", ck_path, "step", ck.get("step"), "->", out, os.path.getsize(out), "bytes", m.n_params(), "params")


if __name__ == "__main__":
    main()
