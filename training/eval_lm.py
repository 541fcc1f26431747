"""Held-out final-answer accuracy of LM checkpoints (PyTorch greedy), optionally writing the greedy fixture.

usage: python eval_lm.py --ckpt a.pt[,b.pt] [--n 200] [--offset 0] [--fixture]
With --fixture, writes test/fixtures/models/greedy.jsonl for the draft and target finals:
  {"problem", "answer", "draft", "target"}  (texts = greedy generation after the prompt, EOS excluded)
"""
import argparse
import json
import os

from common import CACHE, FIXTURES, eval_problems, log, setup_torch
from export import load_ckpt
from model import BOS, decode, encode, greedy_generate
from task import final_answer, parse, prompt_text, value


def gen_all(model, problems, bs=100):
    out = []
    for i in range(0, len(problems), bs):
        chunk = problems[i:i + bs]
        out += [decode(o) for o in greedy_generate(model, [[BOS] + encode(prompt_text(e)) for e in chunk])]
    return out


def accuracy(problems, texts):
    return sum(final_answer(t) == value(parse(e)) for e, t in zip(problems, texts)) / len(problems)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=None)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fixture", action="store_true")
    ap.add_argument("--problems", default=None, help='a JSONL problem file ({"question", ...} per line) instead of the held-out problems')
    a = ap.parse_args()
    setup_torch(a.threads)
    if a.problems:
        with open(a.problems) as f:
            problems = [json.loads(l)["question"] for l in f if l.strip()]
        a.n = len(problems)
    else:
        problems = eval_problems()[a.offset:a.offset + a.n]
    if a.fixture:
        texts = {}
        for role in ("draft", "target"):
            m, _ = load_ckpt(os.path.join(CACHE, role + ".final.pt"))
            texts[role] = gen_all(m, problems)
            log(role, "accuracy %.4f" % accuracy(problems, texts[role]))
        os.makedirs(FIXTURES, exist_ok=True)
        with open(os.path.join(FIXTURES, "greedy.jsonl"), "w") as f:
            for i, e in enumerate(problems):
                f.write(json.dumps({"problem": e, "answer": value(parse(e)), "draft": texts["draft"][i],
                                    "target": texts["target"][i]}) + "\n")
        return
    for ck in a.ckpt.split(","):
        m, c = load_ckpt(ck)
        texts = gen_all(m, problems)
        log("%s step %s accuracy %.4f (n=%d, offset %d)" % (ck, c.get("step"), accuracy(problems, texts), a.n, a.offset))


if __name__ == "__main__":
    main()
