"""Mutation testing: plant realistic bugs one at a time, see tests fail.

Each mutation in ``scripts/mutations.toml`` names a source file, an exact
snippet of it and its replacement, and the test files that should catch
it.  For each, this script writes the mutant, runs those tests with
``pytest -x -q`` and restores the file (also on Ctrl-C or a kill), then
prints caught/total.  A mutation whose snippet is no longer in its file
(or is there more than once) is reported ``stale``, not counted: refresh
it after the code changed.  Mutants are planted in temporary copies of
the project (one per job), so the checkout is never touched.

    PYTHONPATH=src .venv/bin/python scripts/mutation.py        # all
    PYTHONPATH=src .venv/bin/python scripts/mutation.py -k tables -j 2

Exit status: 0 when every mutation was caught, 1 when one survived or
went stale, 2 when the unmutated tests fail.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
LIST = PROJECT / "scripts" / "mutations.toml"
# Not copied: what tests do not read (the .venv link is copied as a link).
SKIP = shutil.ignore_patterns(
    ".git", "data", "results", "_output", "_freeze", ".quarto",
    "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis",
    "*.egg-info",
)  # fmt: skip


def pytest(root: Path, tests: list[str], timeout: float) -> str:
    """'caught', 'survived' or 'timeout' for one run of ``tests``."""
    env = {
        **os.environ,
        "PYTHONPATH": str(root / "src"),
        "PYTHONDONTWRITEBYTECODE": "1",  # no stale .pyc of a mutant
    }
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p",
           "no:cacheprovider", *tests]  # fmt: skip
    try:
        done = subprocess.run(
            cmd, cwd=root, env=env, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout"  # counted as caught: the mutant does not finish
    return "survived" if done.returncode == 0 else "caught"


def mutate(root: Path, m: dict, timeout: float) -> str:
    """Plant one mutation, run its tests, restore the file; the outcome."""
    path = root / m["file"]
    original = path.read_bytes()
    text = original.decode()
    if text.count(m["find"]) != 1:
        return "stale"
    try:
        path.write_text(text.replace(m["find"], m["replace"]))
        return pytest(root, m["tests"], timeout)
    finally:
        path.write_bytes(original)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-k",
        action="append",
        default=[],
        help="only names containing this (repeat: any of them)",
    )
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("--list", type=Path, default=LIST)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the check that the unmutated tests pass",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="byhand-mutants-") as tmp:
        copies: queue.Queue[Path] = queue.Queue()
        for i in range(args.jobs):
            root = Path(tmp) / f"copy{i}"
            shutil.copytree(PROJECT, root, symlinks=True, ignore=SKIP)
            copies.put(root)
        return run(args, copies)


def run(args: argparse.Namespace, copies: queue.Queue[Path]) -> int:
    """The baseline, then every mutation; prints caught/total."""
    mutations = tomllib.loads(args.list.read_text())["mutation"]
    if args.k:
        mutations = [
            m for m in mutations if any(k in m["name"] for k in args.k)
        ]
    if not args.no_baseline:
        tests = sorted({t for m in mutations for t in m["tests"]})
        if pytest(copies.queue[0], tests, args.timeout * 3) != "survived":
            print("the unmutated tests fail: fix them first", file=sys.stderr)
            return 2
    counts = {"caught": 0, "timeout": 0, "survived": 0, "stale": 0}
    start = time.perf_counter()

    def one(m: dict) -> str:
        root = copies.get()
        try:
            return mutate(root, m, args.timeout)
        finally:
            copies.put(root)

    with ThreadPoolExecutor(args.jobs) as pool:
        outcomes = pool.map(one, mutations)
        for i, (m, outcome) in enumerate(
            zip(mutations, outcomes, strict=True), 1
        ):
            counts[outcome] += 1
            print(f"[{i:2d}/{len(mutations)}] {outcome:8s} {m['name']} "
                  f"({m['file']})", flush=True)  # fmt: skip
    caught = counts["caught"] + counts["timeout"]
    total = caught + counts["survived"]
    share = f"{100 * caught / total:.0f} %" if total else "–"
    print(f"caught {caught}/{total} ({share}); {counts['stale']} stale; "
          f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    return 0 if caught == total and not counts["stale"] else 1


if __name__ == "__main__":
    sys.exit(main())
