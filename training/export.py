"""Export a training checkpoint to models/<role>.gguf (F32).

usage: python export.py <checkpoint.pt> <role> [out.gguf] [--mix .cache/router-mix.json]

--mix takes a confidence mix from training/fit-router-mix.ts (the router's, with its calibrated offset;
the PRM's, with its own intercept `mix_offset`), stores it in the checkpoint (so a later export keeps it)
and writes it as arbitrage.classifier.* metadata.
"""
import json
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
    argv = sys.argv[1:]
    mix_path = None
    if "--mix" in argv:
        i = argv.index("--mix")
        mix_path = argv[i + 1]
        del argv[i:i + 2]
    ck_path, role = argv[0], argv[1]
    out = argv[2] if len(argv) > 2 else os.path.join(MODELS, role + ".gguf")
    m, ck = load_ckpt(ck_path)
    if mix_path:
        with open(mix_path) as f:
            mix = json.load(f)
        if "offset" in mix:
            ck["offset"] = float(mix["offset"])
        ck["mix"] = {"logit_scale": float(mix["logit_scale"]), "confidence": {k: float(v) for k, v in mix["confidence"].items()},
                     "report": mix.get("report")}
        if "mix_offset" in mix:
            ck["mix"]["mix_offset"] = float(mix["mix_offset"])
        torch.save(ck, ck_path)
    extra = list(CLASSIFIER_KVS) if role in ("router", "prm") else []
    if role in ("router", "prm") and ck.get("offset") is not None:  # fit-router-mix.ts
        extra.append(("arbitrage.classifier.offset", T_STRING, repr(float(ck["offset"]))))
    if role in ("router", "prm") and ck.get("mix"):  # fit-router-mix.ts: the draft's confidences as extra input
        extra.append(("arbitrage.classifier.logit_scale", T_STRING, repr(ck["mix"]["logit_scale"])))
        for feature, weight in ck["mix"]["confidence"].items():
            extra.append(("arbitrage.classifier.confidence." + feature, T_STRING, repr(weight)))
        if ck["mix"].get("mix_offset") is not None:  # the mix's own intercept: the plain score keeps arbitrage.classifier.offset
            extra.append(("arbitrage.classifier.mix_offset", T_STRING, repr(ck["mix"]["mix_offset"])))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    export_llama(m, out, role, extra)
    print("exported", ck_path, "step", ck.get("step"), "->", out, os.path.getsize(out), "bytes", m.n_params(), "params")


if __name__ == "__main__":
    main()
