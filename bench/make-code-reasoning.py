"""Writes the code-reasoning problem sets: questions about given Python code with exact answers.

usage: python3 bench/make-code-reasoning.py [--seed 20261207] [--test 120] [--train 200]

Two kinds of question, each from templates with seeded parameters:
- "What does this program print?": a small program (loops, arithmetic, string slicing, list
  comprehensions, dict updates, recursion, floor division and modulo) that prints one line;
- "Why does this test fail?", reduced to one exact value: a function with a bug and a test whose
  assertion compares a call with the value the test expects; the question asks what the call
  actually returns, written as print() would show it.

Every answer is what Python prints: each program is RUN here (this interpreter, in a child
process) while the set is written, never worked out by hand. A failing-test problem is run with
its call printed and then its test called, and is kept only if the test really fails with an
AssertionError and the printed value differs from the expected one.

Answers are one line: an integer, a decimal with at most 3 places, or letters, spaces and hyphens
(no digits: the bench's answer extractor reads "The answer is a1" as 1), so `\\boxed{X}` and
"The answer is X" both grade (src/engine/answer.ts; test/bench/code-reasoning.test.ts checks it).

Output (bench/problems/):
- code-reasoning-test.jsonl: for figures that are reported;
- code-reasoning-train.jsonl: for anything fitted or chosen.
No program appears in both. Problem i of a set uses template i mod (number of templates), so any
prefix (--limit) mixes the templates. Each line: {"id": "<set>-<index>-<template>", "question",
"answer"}. The draws depend only on the seed, so rerunning rewrites byte-identical files.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "problems")

WORDS = [
    "keyboard", "program", "function", "variable", "iterator", "compiler", "database", "terminal",
    "network", "library", "package", "module", "integer", "boolean", "context", "pointer", "thread",
    "process", "browser", "monitor", "element", "channel", "reading", "writing", "dynamic", "syntax",
]
SHORT_WORDS = [
    "apple", "river", "stone", "cloud", "tiger", "maple", "ocean", "pearl", "lemon", "grape",
    "honey", "frost", "cedar", "amber", "bison", "coral", "delta", "eagle", "flint", "globe",
    "fig", "ant", "oak", "sky", "sun", "owl", "bee", "elm", "ivy", "yak",
]
PALINDROMES = ["level", "racecar", "madam", "refer", "noon", "civic", "rotor", "kayak", "radar", "stats", "tenet", "redder", "deified", "repaper", "reviver", "sagas", "solos", "minim"]

INT = re.compile(r"-?\d+")
DECIMAL = re.compile(r"-?\d+\.\d{1,3}")
TEXT = re.compile(r"[A-Za-z][A-Za-z \-]*[A-Za-z]|[A-Za-z]")


def gradable(answer):
    """Whether the bench's extractor reads this answer back from "\\boxed{X}" and "The answer is X"."""
    return len(answer) <= 40 and any(p.fullmatch(answer) for p in (INT, DECIMAL, TEXT))


# ---------------------------------------------------------------------------------------------
# "What does this program print?" templates: each returns the program's source.


def loop_accumulate(r):
    start, stop, step = r.randint(0, 4), r.randint(9, 16), r.choice([1, 1, 2])
    k, a, b = r.randint(2, 4), r.randint(2, 9), r.randint(1, 5)
    return f"""total = {r.randint(0, 10)}
for i in range({start}, {stop}, {step}):
    if i % {k} == 0:
        total += i * {a}
    else:
        total -= {b}
print(total)
"""


def while_collatz(r):
    # Capped at a few steps: the full Collatz walk of a two-digit number can take over 100.
    return f"""n = {r.randint(6, 99)}
steps = 0
while n != 1 and steps < {r.randint(4, 8)}:
    if n % 2 == 0:
        n = n // 2
    else:
        n = 3 * n + 1
    steps += 1
print(n + steps)
"""


def digit_sum(r):
    base = r.choice([10, 10, 7, 8])
    return f"""n = {r.randint(1000, 99999)}
total = 0
while n > 0:
    total += n % {base}
    n //= {base}
print(total)
"""


def string_slice(r):
    word = r.choice(WORDS)
    while True:
        i, j = sorted(r.sample(range(0, len(word) + 1), 2))
        step = r.choice([1, 2, -1])
        s = word[i:j] if step == 1 else word[i:j][::step] if step == -1 else word[i:j:step]
        if len(s) >= 2:
            break
    expr = f"s[{i}:{j}]" if step == 1 else f"s[{i}:{j}][::-1]" if step == -1 else f"s[{i}:{j}:2]"
    tail = r.choice(["s[-1]", "s[0].upper()", "s[-3:]", ""])
    body = f"{expr} + {tail}" if tail else expr
    return f"""s = "{word}"
print({body})
"""


def list_comprehension(r):
    k, m = r.randint(2, 3), r.randint(0, 1)
    while True:
        nums = r.sample(range(-6, 15), r.randint(5, 8))
        if any(x % k == m for x in nums):
            break
    op = r.choice(["x * x", "x + {}".format(r.randint(1, 5)), "abs(x)", "x // 2"])
    agg = r.choice(["sum", "len", "max", "min"])
    return f"""nums = {nums}
picked = [{op} for x in nums if x % {k} == {m}]
print({agg}(picked))
"""


def dict_counts(r):
    word = r.choice(["banana", "mississippi", "abracadabra", "bookkeeper", "committee", "parallel", "assessment"])
    letter = r.choice(sorted(set(word)))
    return f"""counts = {{}}
for ch in "{word}":
    counts[ch] = counts.get(ch, 0) + 1
print(counts["{letter}"] * {r.randint(2, 9)} + len(counts))
"""


def dict_update(r):
    a, b, c, d = (r.randint(1, 20) for _ in range(4))
    key = r.choice(["a", "b"])
    return f"""scores = {{"a": {a}, "b": {b}}}
scores.update({{"b": {c}, "c": {d}}})
scores["{key}"] += scores.pop("c")
scores["d"] = scores.get("d", {r.randint(1, 5)}) * 2
print(sum(scores.values()) - scores["{key}"])
"""


def recursion(r):
    a, b, n = r.randint(1, 3), r.randint(1, 2), r.randint(5, 9)
    return f"""def f(n):
    if n < 2:
        return n + {r.randint(0, 2)}
    return {a} * f(n - 1) + {b} * f(n - 2)


print(f({n}))
"""


def recursive_string(r):
    word = r.choice(WORDS)
    k = r.randint(2, 3)
    return f"""def g(s):
    if len(s) <= {k}:
        return s
    return g(s[{k}:]) + s[:{k}]


print(g("{word}"))
"""


def floor_division(r):
    a = r.choice([-1, 1]) * r.randint(10, 99)
    b = r.choice([-1, 1]) * r.randint(3, 9)
    if a > 0 and b > 0:
        a = -a
    c = r.randint(2, 10)
    return f"""q, rem = divmod({a}, {b})
print(q * {c} + rem)
"""


def join_words(r):
    words = r.sample(SHORT_WORDS, r.randint(4, 6))
    n = r.randint(3, 4)
    sep = r.choice(["-", " "])
    return f"""words = {words}
kept = [w.capitalize() for w in words if len(w) > {n}]
print("{sep}".join(reversed(kept)))
"""


def sort_key(r):
    words = r.sample(SHORT_WORDS, r.randint(5, 7))
    i = r.randint(0, len(words) - 1)
    key = r.choice(["len(w)", "w[-1]", "(len(w), w)", "-len(w)"])
    return f"""words = {words}
words.sort(key=lambda w: {key})
print(words[{i}])
"""


def enumerate_zip(r):
    a = r.sample(range(1, 12), r.randint(4, 6))
    b = r.sample(range(-5, 10), len(a) + r.randint(0, 2))
    return f"""a = {a}
b = {b}
total = 0
for i, (x, y) in enumerate(zip(a, b)):
    if i % 2 == 1:
        total += x * y
    else:
        total -= x
print(total)
"""


def aliasing(r):
    xs = r.sample(range(1, 20), r.randint(3, 5))
    v = r.randint(20, 40)
    return f"""a = {xs}
b = a
c = a[:]
b.append({v})
c.append({v + r.randint(1, 9)})
a[0] = a[-1] - c[-1]
print(len(a) + len(c) + a[0] + b[1])
"""


def float_division(r):
    a, b = r.randint(5, 60), r.choice([2, 4, 5, 8])
    return f"""x = {a} / {b}
y = {a} // {b}
print(x - y + {r.randint(1, 9)})
"""


# ---------------------------------------------------------------------------------------------
# "Why does this test fail?" templates: each returns (source, the call, the expected value as
# written in the assertion, the test function's name).


def bug_range(r):
    n = r.randint(4, 60)
    src = f"""def sum_to(n):
    \"\"\"The sum 1 + 2 + ... + n.\"\"\"
    total = 0
    for i in range(n):
        total += i
    return total


def test_sum_to():
    assert sum_to({n}) == {n * (n + 1) // 2}
"""
    return src, f"sum_to({n})", str(n * (n + 1) // 2), "test_sum_to"


def bug_average(r):
    while True:
        xs = [r.randint(1, 20) for _ in range(r.randint(3, 5))]
        # A mean that ends in .5: written exactly in the assertion.
        if sum(xs) * 2 % len(xs) == 0 and sum(xs) % len(xs) != 0:
            break
    mean = sum(xs) / len(xs)
    src = f"""def average(xs):
    return sum(xs) // len(xs)


def test_average():
    assert average({xs}) == {mean}
"""
    return src, f"average({xs})", str(mean), "test_average"


def bug_mutable_default(r):
    first = [r.randint(1, 9) for _ in range(r.randint(1, 3))]
    last = r.randint(1, 9)
    setup = "".join(f"    add_item({x})\n" for x in first)
    src = f"""def add_item(x, items=[]):
    items.append(x)
    return items


def test_add_item():
{setup}    assert len(add_item({last})) == 1
"""
    return src, f"len(add_item({last}))", "1", "test_add_item"


def bug_slice(r):
    word = r.choice(WORDS)
    n = r.randint(2, 4)
    src = f"""def last_n(s, n):
    \"\"\"The last n characters of s.\"\"\"
    return s[-n:-1]


def test_last_n():
    assert last_n("{word}", {n}) == "{word[-n:]}"
"""
    return src, f'last_n("{word}", {n})', f'"{word[-n:]}"', "test_last_n"


def bug_count_even(r):
    xs = r.sample(range(0, 30), r.randint(5, 8))
    evens = sum(1 for x in xs if x % 2 == 0)
    src = f"""def count_even(xs):
    return sum(1 for x in xs if x % 2)


def test_count_even():
    assert count_even({xs}) == {evens}
"""
    return src, f"count_even({xs})", str(evens), "test_count_even"


def bug_power(r):
    b, e = r.randint(2, 9), r.randint(2, 6)
    src = f"""def power(b, e):
    if e == 1:
        return 1
    return b * power(b, e - 1)


def test_power():
    assert power({b}, {e}) == {b ** e}
"""
    return src, f"power({b}, {e})", str(b ** e), "test_power"


def bug_dict_overwrite(r):
    while True:
        words = r.sample(SHORT_WORDS, 5)
        lengths = [len(w) for w in words]
        first = words[0]
        if lengths.count(len(first)) >= 2:
            break
    src = f"""def by_length(words):
    \"\"\"Maps each length to the first word of that length.\"\"\"
    found = {{}}
    for w in words:
        found[len(w)] = w
    return found


def test_by_length():
    assert by_length({words})[{len(first)}] == "{first}"
"""
    return src, f"by_length({words})[{len(first)}]", f'"{first}"', "test_by_length"


def bug_palindrome(r):
    word = r.choice(PALINDROMES)
    # One letter in upper case: no longer a palindrome to `==` unless it is the middle one.
    i = r.randrange(len(word))
    word = word[:i] + word[i].upper() + word[i + 1 :]
    src = f"""def is_palindrome(s):
    return s == s[::-1]


def test_is_palindrome():
    assert is_palindrome("{word}") == True
"""
    return src, f'is_palindrome("{word}")', "True", "test_is_palindrome"


def bug_positives(r):
    while True:
        xs = [r.randint(-4, 6) for _ in range(r.randint(6, 9))]
        if 0 in xs:
            break
    want = sum(1 for x in xs if x > 0)
    src = f"""def positives(xs):
    \"\"\"The numbers greater than zero.\"\"\"
    return [x for x in xs if x >= 0]


def test_positives():
    assert len(positives({xs})) == {want}
"""
    return src, f"len(positives({xs}))", str(want), "test_positives"


def bug_running_max(r):
    xs = [r.randint(-20, -1) for _ in range(r.randint(3, 6))]
    src = f"""def largest(xs):
    best = 0
    for x in xs:
        if x > best:
            best = x
    return best


def test_largest():
    assert largest({xs}) == {max(xs)}
"""
    return src, f"largest({xs})", str(max(xs)), "test_largest"


PRINT_TEMPLATES = [
    loop_accumulate, while_collatz, digit_sum, string_slice, list_comprehension, dict_counts,
    dict_update, recursion, recursive_string, floor_division, join_words, sort_key, enumerate_zip,
    aliasing, float_division,
]
TEST_TEMPLATES = [
    bug_range, bug_average, bug_mutable_default, bug_slice, bug_count_even, bug_power,
    bug_dict_overwrite, bug_palindrome, bug_positives, bug_running_max,
]
TEMPLATES = [("print", t) for t in PRINT_TEMPLATES] + [("test", t) for t in TEST_TEMPLATES]


def run_python(source):
    """Runs a program in a child process of this interpreter: (exit status, stdout, stderr)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0", "LANG": "C.UTF-8"}
    p = subprocess.run([sys.executable, "-I", "-B", "-"], input=source, capture_output=True, text=True, timeout=20, env=env)
    return p.returncode, p.stdout, p.stderr


def print_problem(source):
    code, out, err = run_python(source)
    if code != 0:
        raise SystemExit(f"a generated program failed ({err.strip().splitlines()[-1]}):\n{source}")
    lines = out.splitlines()
    if len(lines) != 1 or not gradable(lines[0]):
        return None
    question = (
        "What does this Python program print?\n\n"
        f"```python\n{source}```\n\n"
        "Give the exact output as the final answer in \\boxed{}."
    )
    return question, lines[0]


def value_program(source, call, expected, test_name):
    """The test with its assertion turned into a print of the call: prints what the call returns."""
    line = f"assert {call} == {expected}"
    if source.count(line) != 1:
        raise SystemExit(f"the test's assertion is not `{line}`:\n{source}")
    return source.replace(line, f"print({call})") + f"\n{test_name}()\n"


def test_problem(source, call, expected, test_name):
    code, _, err = run_python(f"{source}\n{test_name}()\n")
    if code == 0:
        return None  # These parameters happen to pass despite the bug: draw again.
    if "AssertionError" not in err:
        raise SystemExit(f"a generated test does not fail on its assertion:\n{source}\nstderr: {err}")
    code, out, err = run_python(value_program(source, call, expected, test_name))
    lines = out.splitlines()
    if code != 0 or len(lines) != 1:
        raise SystemExit(f"printing the call of a generated test failed:\n{source}\nstdout: {out}\nstderr: {err}")
    actual = lines[0]
    if actual == expected.strip('"') or not gradable(actual):
        return None
    question = (
        "This Python test fails:\n\n"
        f"```python\n{source}```\n\n"
        f"The assertion in `{test_name}` compares `{call}` with `{expected}`. "
        f"What value does `{call}` actually return when the test runs? "
        "Write it as print() would show it, and give the final answer in \\boxed{}."
    )
    return question, actual


def make_set(name, count, rng, used):
    rows = []
    for i in range(count):
        kind, template = TEMPLATES[i % len(TEMPLATES)]
        for _ in range(1000):
            made = template(rng)
            source = made if kind == "print" else made[0]
            if source in used:
                continue
            problem = print_problem(source) if kind == "print" else test_problem(*made)
            if problem is None:
                continue
            used.add(source)
            rows.append({"id": f"{name}-{i:03d}-{template.__name__}", "question": problem[0], "answer": problem[1]})
            break
        else:
            raise SystemExit(f"the template {template.__name__} gave no new gradable program in 1000 draws")
    return rows


def write_jsonl(name, rows):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} problems to {os.path.relpath(path, ROOT)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--test", type=int, default=120, help="problems in the test set (default 120)")
    ap.add_argument("--train", type=int, default=200, help="problems in the train set (default 200)")
    args = ap.parse_args()
    if args.test < 1 or args.train < 1:
        raise SystemExit("--test and --train must be at least 1")
    used = set()
    # The test set is drawn first and its programs are excluded from the train set.
    test = make_set("test", args.test, random.Random(f"{args.seed}:test"), used)
    train = make_set("train", args.train, random.Random(f"{args.seed}:train"), used)
    write_jsonl("code-reasoning-test.jsonl", test)
    write_jsonl("code-reasoning-train.jsonl", train)


if __name__ == "__main__":
    main()
