"""Writes the benchmark's problem sets of the embedded task (bench/problems/), drawn the shape-uniform way.

usage: /usr/bin/python3 bench/make-problems.py [--exclude-jsonl training/.cache/oracle-train.jsonl,...]

Sets, in this order (each disjoint from the ones before it):
  embedded-heldout.jsonl     200 problems, 1..3 operations   (seed 251205033)  the bench's default set
  embedded-heldout-b.jsonl   200 problems, 1..3 operations   (seed 251205034)  a second, disjoint held-out set
  embedded-hard.jsonl        200 problems, 4 operations      (seed 251205035)  harder than anything trained on
  calibration-embedded.jsonl 240 problems, 1..3 operations   (seed 251205036)  `arbitrage calibrate`'s bundled set
Each problem: the operation count uniformly, then one of its tree shapes uniformly, then operators and
literals (training/task.py gen_problem_of_shape, every value 0..99, one factor of each product <= 9).
A draw that training may have seen or used is redrawn within the same shape, so the sets stay uniform
over shapes. Dropped:
  - every problem a language-model training run drew (training/common.py trained_problems: a replay of
    each run's train_lm.py stream, the pre-training and the issue-14 fine-tunes),
  - the fixtures' and reported figures' problems (common.eval_problems' first 1000) and the by-shape
    measurement set (training/by_shape.py),
  - every problem of the router/PRM rollouts (--exclude-jsonl, field "problem"): train (build_all.sh stages 4
    and 4b) and held-out.
The seeds are used by no training script (train_lm.py: 1, 2, 4, 5, 21, 22; build_oracle.py 11, 12, 13, 14;
train_cls.py 5; held-out stream 987654321).
Each line: {"question": "<expr>", "answer": "<value>"} (the answer as the model writes it after "A:").
"""
import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "training"))
from by_shape import by_shape_problems  # noqa: E402
from common import eval_problems, trained_problems  # noqa: E402
from task import gen_problem_of_shape, parse, tree_shapes, value  # noqa: E402

ROLLOUTS = ",".join(os.path.join(HERE, "..", "training", ".cache", f) for f in (
    "oracle-train.jsonl", "oracle-extra-0.jsonl", "oracle-extra-1.jsonl", "oracle-heldout.jsonl"))
SETS = [  # file, count, min ops, max ops, seed
    ("embedded-heldout.jsonl", 200, 1, 3, 251205033),
    ("embedded-heldout-b.jsonl", 200, 1, 3, 251205034),
    ("embedded-hard.jsonl", 200, 4, 4, 251205035),
    ("calibration-embedded.jsonl", 240, 1, 3, 251205036),
]


def draw(n, min_ops, max_ops, seed, excluded):
    rng, out = random.Random(seed), []
    while len(out) < n:
        shape = rng.choice(tree_shapes(rng.randint(min_ops, max_ops)))
        for _ in range(100000):
            e = gen_problem_of_shape(rng, shape)
            if e not in excluded:
                break
        else:
            sys.exit("make-problems: no unused problem of shape %s left (seed %d)" % (shape, seed))
        excluded.add(e)
        out.append(e)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exclude-jsonl", default=ROLLOUTS, help='JSONL files whose rows\' "problem" are excluded, comma-separated')
    ap.add_argument("--out-dir", default=os.path.join(HERE, "problems"))
    a = ap.parse_args()
    trained = trained_problems()
    measured = set(eval_problems(n=1000)) | set(by_shape_problems(120))
    rollouts = set()
    for path in [p for p in a.exclude_jsonl.split(",") if p.strip()]:
        if not os.path.exists(path):
            sys.exit("make-problems: %s is missing (router/PRM rollouts, training/build_all.sh stage 4); "
                     "name them with --exclude-jsonl" % path)
        with open(path) as f:
            rollouts |= {json.loads(line)["problem"] for line in f if line.strip()}
    excluded = set(trained) | measured | rollouts
    print("excluding %d LM-training problems, %d fixture/figure/by-shape problems, %d rollout problems"
          % (len(trained), len(measured), len(rollouts)))
    for name, n, lo, hi, seed in SETS:
        problems = draw(n, lo, hi, seed, excluded)
        path = os.path.join(a.out_dir, name)
        with open(path, "w") as f:
            for e in problems:
                f.write(json.dumps({"question": e, "answer": str(value(parse(e)))}) + "\n")
        print("wrote %d problems (%d..%d ops, seed %d) to %s" % (n, lo, hi, seed, os.path.relpath(path)))


if __name__ == "__main__":
    main()
