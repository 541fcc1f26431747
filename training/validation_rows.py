"""Write the router's validation split of the training rollouts (train_cls.validation_problems, the same
seed and share train_cls.py selects checkpoints on) for training/fit-router-mix.ts, which fits the
router's confidence mix and its calibrated offset on rows the router never trained on.

usage: python validation_rows.py [--train .cache/oracle-train.jsonl] [--extra x.jsonl --split-extra] [--out .cache/router-validation.jsonl]
"""
import argparse
import json
import os
import random

from common import CACHE, log
from train_cls import read_rows, split_rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", default=os.path.join(CACHE, "oracle-train.jsonl"))
    ap.add_argument("--out", default=os.path.join(CACHE, "router-validation.jsonl"))
    ap.add_argument("--seed", type=int, default=5, help="train_cls.py's seed (its validation split)")
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument("--extra", default="", help="train_cls.py's --extra (only with --split-extra)")
    ap.add_argument("--split-extra", action="store_true", help="train_cls.py's --split-extra")
    a = ap.parse_args()
    extra = read_rows(a.extra) if a.extra and a.split_extra else []
    _, val = split_rows(read_rows(a.train), extra, random.Random(a.seed), a.val_frac, a.split_extra)
    with open(a.out, "w") as f:
        for r in val:
            f.write(json.dumps(r) + "\n")
    log("validation split: %d problems, %d rows -> %s" % (len({r["problem"] for r in val}), len(val), a.out))


if __name__ == "__main__":
    main()
