"""Writes bench/problems/embedded-heldout.jsonl: the benchmark's held-out problems of the embedded task.

usage: /usr/bin/python3 bench/make-problems.py [--n 200] [--seed 251205033]
           [--exclude-jsonl training/.cache/oracle-train.jsonl,...] [--out bench/problems/embedded-heldout.jsonl]

Problems come from the training generator (training/task.py `gen_problem`, the task family as
task.py defines it: values <= task.MAX_VALUE, 2..task.MAX_OPS operations) with the bench's own seed,
251205033, which no training script uses (train_lm.py runs: seeds 1, 2, 4, 5; build_oracle.py 11
and 12; train_cls.py 5; held-out stream 987654321). A problem is dropped when training may have
seen or used it:
  - every problem a language-model training run drew (training/common.py trained_problems: a
    replay of each run's train_lm.py make_batch stream),
  - the first 4000 problems of the training's held-out stream (fixtures, classifier held-out
    rollouts, reported figures: common.eval_problems draws from them),
  - every problem of the router/PRM rollouts (--exclude-jsonl, field "problem"; build_oracle.py in
    turn skips the problems of this file).
Each line: {"question": "<expr>", "answer": "<value>"} (the answer as the model writes it after "A:").
"""
import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "training"))
import task  # noqa: E402
from common import heldout_problems, trained_problems  # noqa: E402
from task import gen_problem, parse, value  # noqa: E402

BENCH_SEED = 251205033
HELD_N = 4000
ROLLOUTS = ",".join(os.path.join(HERE, "..", "training", ".cache", f) for f in ("oracle-train.jsonl", "oracle-heldout.jsonl"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=BENCH_SEED)
    ap.add_argument("--exclude-jsonl", default=ROLLOUTS, help='JSONL files whose rows\' "problem" are excluded, comma-separated')
    ap.add_argument("--out", default=os.path.join(HERE, "problems", "embedded-heldout.jsonl"))
    a = ap.parse_args()
    trained = trained_problems()
    excluded = set(trained) | set(heldout_problems(n=HELD_N))
    rollouts = set()
    for path in [p for p in a.exclude_jsonl.split(",") if p.strip()]:
        if not os.path.exists(path):
            sys.exit("make-problems: %s is missing (router/PRM rollouts); name them with --exclude-jsonl" % path)
        with open(path) as f:
            rollouts |= {json.loads(line)["problem"] for line in f if line.strip()}
    excluded |= rollouts
    rng, out, seen, dropped = random.Random(a.seed), [], set(), 0
    while len(out) < a.n:
        e = gen_problem(rng)
        if e in seen:
            continue
        seen.add(e)
        if e in excluded:
            dropped += 1
            continue
        out.append(e)
    with open(a.out, "w") as f:
        for e in out:
            f.write(json.dumps({"question": e, "answer": str(value(parse(e)))}) + "\n")
    print("wrote %d problems (seed %d, values <= %d, 2..%d ops) to %s; dropped %d of %d distinct draws "
          "(excluded: %d LM-training problems, the first %d held-out, %d rollout problems)"
          % (len(out), a.seed, task.MAX_VALUE, task.MAX_OPS, a.out, dropped, len(seen), len(trained), HELD_N, len(rollouts)))


if __name__ == "__main__":
    main()
