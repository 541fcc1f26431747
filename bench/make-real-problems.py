"""Writes bench/problems/real-small.jsonl: a small problem set for the real published pair
(SmolLM2-135M-Instruct draft, Gemma 3 270M base target; models/real-models.json).

usage: /usr/bin/python3 bench/make-real-problems.py [--n 80] [--seed 20251205] [--out bench/problems/real-small.jsonl]

Models this small solve only the easiest school arithmetic, and not always: one-step sums,
differences and times-table products, asked as "What is 12+7?" or in words, and one-step word
problems (buying more, giving away, rows of things, sharing). Every answer is a whole number >= 0.
The categories take turns (round robin over a seeded shuffle), so any prefix of the file --
`arbitrage bench --limit N` -- holds all of them in equal parts. Questions are distinct.
Each line: {"question": "...", "answer": "<integer>", "kind": "<category>"}.
"""
import argparse
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ["Tom", "Anna", "Sam", "Mia", "Ben", "Lucy", "Max", "Emma", "Leo", "Sara", "Jack", "Nina"]
THINGS = ["apples", "pencils", "stickers", "marbles", "books", "cookies", "balloons", "cards"]


def add_symbol(r):
    a, b = r.randint(2, 30), r.randint(2, 20)
    return f"What is {a}+{b}?", a + b


def add_words(r):
    a, b = r.randint(2, 20), r.randint(2, 20)
    return f"What is {a} plus {b}?", a + b


def sub_symbol(r):
    b = r.randint(2, 15)
    a = b + r.randint(1, 20)
    return f"What is {a}-{b}?", a - b


def mul_words(r):
    a, b = r.randint(2, 9), r.randint(2, 9)
    return f"What is {a} times {b}?", a * b


def mul_symbol(r):
    a, b = r.randint(2, 9), r.randint(2, 9)
    return f"What is {a}*{b}?", a * b


def word_buy(r):
    n, t = r.choice(NAMES), r.choice(THINGS)
    a, b = r.randint(2, 12), r.randint(2, 12)
    pron = "she" if n in ("Anna", "Mia", "Lucy", "Emma", "Sara", "Nina") else "he"
    return f"{n} has {a} {t} and buys {b} more. How many {t} does {pron} have?", a + b


def word_give(r):
    n, t = r.choice(NAMES), r.choice(THINGS)
    b = r.randint(2, 9)
    a = b + r.randint(1, 12)
    pron = "she" if n in ("Anna", "Mia", "Lucy", "Emma", "Sara", "Nina") else "he"
    return f"{n} had {a} {t}. {pron.capitalize()} gave {b} to a friend. How many {t} does {pron} have left?", a - b


def word_rows(r):
    a, b = r.randint(2, 6), r.randint(2, 9)
    t = r.choice(["eggs", "chairs", "trees", "cups"])
    return f"A room has {a} rows of {b} {t}. How many {t} are there in all?", a * b


def word_share(r):
    k, each = r.randint(2, 5), r.randint(2, 6)
    t = r.choice(THINGS)
    return f"{k * each} {t} are shared equally among {k} children. How many {t} does each child get?", each


KINDS = [add_symbol, sub_symbol, mul_words, word_buy, word_give, add_words, mul_symbol, word_rows, word_share]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=80)
    ap.add_argument("--seed", type=int, default=20251205)
    ap.add_argument("--out", default=os.path.join(HERE, "problems", "real-small.jsonl"))
    args = ap.parse_args()
    r = random.Random(args.seed)
    order = KINDS[:]
    r.shuffle(order)
    seen, rows = set(), []
    i = 0
    while len(rows) < args.n:
        make = order[i % len(order)]
        i += 1
        for _ in range(100):
            q, a = make(r)
            if q not in seen:
                break
        else:
            raise SystemExit(f"{make.__name__}: no new question in 100 draws")
        seen.add(q)
        rows.append({"question": q, "answer": str(a), "kind": make.__name__})
    with open(args.out, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    print(f"wrote {len(rows)} problems to {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
