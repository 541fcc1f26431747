"""Write the router's validation split of the training rollouts (train_cls.validation_problems, the same
seed and share train_cls.py selects checkpoints on) for training/fit-router-mix.ts, which fits the
router's confidence mix and its calibrated offset on rows the router never trained on.

usage: python validation_rows.py [--train .cache/oracle-train.jsonl] [--out .cache/router-validation.jsonl]
"""
import argparse
import json
import os
import random

from common import CACHE, log
from train_cls import read_rows, validation_problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", default=os.path.join(CACHE, "oracle-train.jsonl"))
    ap.add_argument("--out", default=os.path.join(CACHE, "router-validation.jsonl"))
    ap.add_argument("--seed", type=int, default=5, help="train_cls.py's seed (its validation split)")
    ap.add_argument("--val-frac", type=float, default=0.1)
    a = ap.parse_args()
    rows = read_rows(a.train)
    valp = validation_problems(rows, random.Random(a.seed), a.val_frac)
    val = [r for r in rows if r["problem"] in valp]
    with open(a.out, "w") as f:
        for r in val:
            f.write(json.dumps(r) + "\n")
    log("validation split: %d problems, %d rows -> %s" % (len(valp), len(val), a.out))


if __name__ == "__main__":
    main()
