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


def heldout_problems(n=N_HELDOUT):
    from task import gen_problem
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
