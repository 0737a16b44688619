"""``python -m byhand.search``: run the search (or load its results),
print the tables, write the course-format log.  Settings, data and
output paths are checked before anything trains; exit codes: README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import pandas as pd
import torch

from byhand._io import (
    CIFAR_FOLDER,
    cache_dir,
    project_root,
    resolve_root,
    results_root,
)
from byhand.data import CatCarSplits, DataError, cat_car_splits
from byhand.report.tables import results_table, test_table
from byhand.search import results
from byhand.search.configs import (
    PROFILES,
    SearchConfig,
    SettingError,
    config_from_env,
)
from byhand.search.jobs import cores, default_workers
from byhand.search.outputs import OutputPathError, check_file, check_folder
from byhand.search.outputs import write_file as write_log
from byhand.search.results import SearchResult
from byhand.search.run import run_search

# The full cat/car data: 10,000 training + validation and 2,000 test images.
FULL_SIZES = (10_000, 2_000)
DONE, DIFFER, BAD_INPUT, UNEXPECTED = 0, 1, 2, 3
INTERRUPTED, TERMINATED = 130, 143  # 128 + SIGINT, 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same clean-up runs."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m byhand.search",
        description="Run the hyperparameter search of tasks 8-10 (or load "
        "its saved results) and write the course-format log.",
    )
    add = parser.add_argument
    add("--root", help="CIFAR-10 root (else $CIFAR10_ROOT)")
    add(
        "--profile",
        choices=sorted(PROFILES),
        help="search size (default: $BYHAND_SEARCH or 'default')",
    )
    add("--results", type=Path, help="results folder")
    add(
        "--log",
        type=Path,
        help="the course-format log (default: the project's "
        "gradient_descent_output.txt, written only by the default profile "
        "on the full data; always saved with the results)",
    )
    add("--force", action="store_true", help="retrain")
    add("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _check_outputs(
    args: argparse.Namespace, config: SearchConfig, splits: CatCarSplits
) -> tuple[Path, Path | None, TextIO | None]:
    """The results root, the log (None: none) and `check_file`'s open
    device or FIFO, all checked."""
    root, flag = args.results, "--results"
    if root is None:
        root = results_root()
        env = os.environ.get("BYHAND_RESULTS")
        flag = "BYHAND_RESULTS" if env else "the results folder"
    # A new results folder must be writable, a saved one may be read-only.
    try:
        check_folder(root, flag)
    except OutputPathError:
        saved = results.search_folder(root, config, splits)
        if args.force or not saved.is_dir():
            raise
    log, flag = args.log, "--log"
    full = (splits.sizes["train"] + splits.sizes["val"], splits.sizes["test"])
    if log is None and config == PROFILES["default"] and full == FULL_SIZES:
        log, flag = project_root() / "gradient_descent_output.txt", "the log"
    if log is None:
        return root, None, None
    if os.path.realpath(log) == os.path.realpath(root):
        raise OutputPathError(
            f"{flag} {log} is the results folder; name another file"
        )
    data = os.path.realpath(resolve_root(args.root) / CIFAR_FOLDER)
    if os.path.commonpath([os.path.realpath(log), data]) == data:
        raise OutputPathError(
            f"{flag} {log} lies in the CIFAR-10 folder {data}; name a "
            "file elsewhere"
        )
    return root, log, check_file(log, flag)


def _print_summary(
    result: SearchResult, where: Path | None, seconds: float
) -> None:
    where = where or result.folder / "gradient_descent_output.txt"
    with pd.option_context("display.width", 120, "display.max_rows", 100):
        print(results_table(result).to_string())
        print()
        print(test_table(result).round(4).to_string())
    how = "loaded from" if result.loaded_from_cache else "saved to"
    print(
        f"\n{result.meta['n_configs']} configurations (+ 2 baselines), "
        f"SGD and manual identical: {result.meta['all_identical']}; "
        f"results {how} {result.folder}; log in {where}; {seconds:.1f} s",
        flush=True,
    )


def _run(args: argparse.Namespace) -> int:
    torch.set_default_dtype(torch.float64)  # section 3.3
    t0 = time.perf_counter()
    config = PROFILES[args.profile] if args.profile else config_from_env()
    workers = default_workers()
    if workers > cores():
        print(
            f"note: BYHAND_WORKERS={workers} but this machine has {cores()} "
            f"cores; using {cores()}",
            file=sys.stderr,
        )
        workers = cores()
    if os.environ.get("BYHAND_CACHE"):
        # Read-only is fine (the resize cache is skipped with a warning).
        check_folder(cache_dir(), "BYHAND_CACHE", write=False)
    splits = cat_car_splits(
        args.root, val_fraction=config.val_fraction, seed=config.split_seed
    )
    root, log, through = _check_outputs(args, config, splits)
    with through or contextlib.nullcontext():
        result = run_search(
            splits, config, results_dir=root, force=args.force,
            progress=False if args.no_progress else None, workers=workers,
        )  # fmt: skip
        if log is not None:
            write_log(log, result.log, through)
    try:
        _print_summary(result, log, time.perf_counter() - t0)
    except BrokenPipeError:  # `... | head`: the reader has enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return DONE if result.meta["all_identical"] else DIFFER


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit code."""
    args = _parser().parse_args(argv)
    # SIGTERM cleans up as Ctrl-C does; only the main thread may set it.
    handle = threading.current_thread() is threading.main_thread()
    old = signal.getsignal(signal.SIGTERM)
    if handle:
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return _run(args)
    except (SettingError, OutputPathError, DataError) as err:
        message, code = str(err), BAD_INPUT
    except OSError as err:  # a write that failed mid-way: disk full, ...
        message = (
            f"{err.filename or 'an output'}: {err.strerror or err}; nothing "
            "was left half written. Free some space, fix the permissions or "
            "choose another --results / --log, then run again"
        )
        code = BAD_INPUT
    except Terminated:
        message = "terminated (SIGTERM); nothing was left half written"
        code = TERMINATED
    except KeyboardInterrupt:
        message = "interrupted; nothing was left half written"
        code = INTERRUPTED
    except Exception:
        traceback.print_exc()
        message = "unexpected failure (a bug in byhand): the traceback above"
        code = UNEXPECTED
    finally:
        if handle:
            signal.signal(signal.SIGTERM, old)
    print(f"error: {message}", file=sys.stderr or sys.stdout)
    return code
