import os
import random
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.path.join(HERE, ".cache")
MODELS = os.path.join(ROOT, "models")
FIXTURES = os.path.join(ROOT, "test", "fixtures", "models")

HELDOUT_SEED = 987654321   # held-out problems (fixtures, evaluation); never trained on
N_HELDOUT = 1000


def setup_torch(threads=2):
    torch.set_flush_denormal(True)
    torch.set_num_threads(threads)


def heldout_problems(n=N_HELDOUT, max_value=None, max_ops=None):
    """The raw held-out stream of the task family (or of a family with another value bound / op count)."""
    import task
    from task import gen_problem
    saved = task.MAX_VALUE, task.MAX_OPS
    if max_value is not None:
        task.MAX_VALUE = max_value
    if max_ops is not None:
        task.MAX_OPS = max_ops
    try:
        return _heldout(n, gen_problem)
    finally:
        task.MAX_VALUE, task.MAX_OPS = saved


def _heldout(n, gen_problem):
    rng = random.Random(HELDOUT_SEED)
    out = []
    seen = set()
    while len(out) < n:
        e = gen_problem(rng)
        if e not in seen:
            seen.add(e)
            out.append(e)
    return out


def log(*a):
    print(*a, flush=True)
    sys.stdout.flush()


# Every language-model training run in the lineage of the committed draft and target
# (seed, steps, batch, max_value, max_ops, held_n) -- see build_all.sh
TRAIN_STREAMS = [
    (1, 4000, 64, 999, 5, 1000),   # draft
    (2, 6000, 32, 999, 5, 1000),   # target phase 1 (4x192)
    (4, 3000, 32, 99, 5, 2000),    # target phase 2 (4x192)
    (5, 300, 32, 99, 5, 2000),     # target phase 3 (grown 8x256)
]


def trained_problems():
    """Every problem the training runs drew (replay of train_lm.py make_batch)."""
    import task
    from task import gen_problem
    path = os.path.join(CACHE, "trained-problems.txt")
    if os.path.exists(path):
        with open(path) as f:
            return set(f.read().split())
    saved = task.MAX_VALUE, task.MAX_OPS
    seen = set()
    try:
        for seed, steps, batch, mv, mo, hn in TRAIN_STREAMS:
            held = set(heldout_problems(n=hn, max_value=mv, max_ops=mo))
            task.MAX_VALUE, task.MAX_OPS = mv, mo
            rng = random.Random(seed)
            for _ in range((steps + 7) // 8):
                n = 0
                while n < batch * 8:
                    e = gen_problem(rng)
                    if e in held:
                        continue
                    rng.random()  # wording
                    seen.add(e)
                    n += 1
                groups = list(range(8))
                rng.shuffle(groups)
            task.MAX_VALUE, task.MAX_OPS = saved
    finally:
        task.MAX_VALUE, task.MAX_OPS = saved
    os.makedirs(CACHE, exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(sorted(seen)))
    return seen


def eval_problems(n=N_HELDOUT):
    """Held-out problems of the task family used for fixtures and reported figures: the held-out stream
    minus anything a training run drew (the 2-op part of the family is small enough to collide)."""
    pre = trained_problems()
    return [e for e in heldout_problems(n=4000) if e not in pre][:n]
