"""Writes bench/problems/embedded-heldout.jsonl: the benchmark's held-out problems of the embedded task.

usage: /usr/bin/python3 bench/make-problems.py [--n 200] [--seed 251205033]
           [--streams 4:3000:32:2000:99,5:4000:32:2000:99] [--out bench/problems/embedded-heldout.jsonl]

Problems come from the training generator (training/task.py `gen_problem`, the task family as
task.py defines it now: 2..5 operations, values <= task.MAX_VALUE) with the bench's own seed,
251205033, which no training script uses (train_lm.py runs use seeds 1, 2, 4, 5; build_oracle.py 11
and 12; train_cls.py 5; common.py HELDOUT_SEED 987654321). A problem is dropped when the training
may have seen or used it:
  - the training's held-out list (common.heldout_problems, 2000 problems: fixtures, classifier
    held-out data, checkpoint monitoring),
  - every problem of the wide-family pre-training runs (common.pretrain_problems),
  - every problem of the task-family training runs, replayed exactly as train_lm.py draws them
    (make_batch + shuffle) from seed:steps:batch:held_n:max_value (--streams; a longer run of the
    same seed and batch draws a superset, so steps may be generous).
The router/PRM rollouts (training/build_oracle.py) skip the problems in this file.
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
from common import heldout_problems, pretrain_problems  # noqa: E402
from task import gen_problem, parse, value  # noqa: E402

BENCH_SEED = 251205033
HELD_N = 2000
TRAIN_STREAMS = "4:3000:32:2000:99,5:4000:32:2000:99"


def training_stream(seed, steps, batch, held_n, max_value):
    """Every problem train_lm.py draws for these arguments: make_batch(rng, batch*8) then rng.shuffle(8 groups)."""
    held = set(heldout_problems(n=held_n, max_value=max_value))
    saved = task.MAX_VALUE
    task.MAX_VALUE = max_value
    try:
        rng, seen = random.Random(seed), set()
        for _ in range((steps + 7) // 8):
            n = 0
            while n < batch * 8:
                e = gen_problem(rng)
                if e in held:
                    continue
                rng.random()  # wording: spaced or compact
                seen.add(e)
                n += 1
            rng.shuffle(list(range(8)))
        return seen
    finally:
        task.MAX_VALUE = saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=BENCH_SEED)
    ap.add_argument("--streams", default=TRAIN_STREAMS, help="seed:steps:batch:held_n:max_value, comma-separated")
    ap.add_argument("--out", default=os.path.join(HERE, "problems", "embedded-heldout.jsonl"))
    a = ap.parse_args()
    excluded = set(heldout_problems(n=HELD_N))
    pre = pretrain_problems()
    excluded |= pre
    streams = sorted({tuple(int(x) for x in s.split(":")) for s in a.streams.split(",") if s.strip()})
    for seed, steps, batch, held_n, mv in streams:
        if any((s2, b2, h2, m2) == (seed, batch, held_n, mv) and st2 > steps for s2, st2, b2, h2, m2 in streams):
            continue  # covered by a longer run
        excluded |= training_stream(seed, steps, batch, held_n, mv)
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
    print("wrote %d problems (seed %d, values <= %d) to %s; dropped %d of %d distinct draws seen in training "
          "(%d pre-training problems, streams %s) or in the training held-out list"
          % (len(out), a.seed, task.MAX_VALUE, a.out, dropped, len(seen), len(pre), a.streams))


if __name__ == "__main__":
    main()
