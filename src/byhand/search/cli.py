"""The command line of tasks 8-10: ``python -m byhand.search``.

Runs the search (or loads its saved results), prints the tables and
writes the course-format log.  Exit codes: 0 done, 1 SGD and the manual
update differ somewhere, 2 a problem with the input or an output path.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from byhand._io import atomic_write_text, project_root
from byhand.data import DataError, cat_car_splits
from byhand.report.tables import results_table, test_table
from byhand.search import (
    PROFILES,
    ProfileError,
    SearchConfig,
    config_from_env,
    run_search,
)

# The full cat/car data: 10,000 training + validation and 2,000 test images.
FULL_SIZES = (10_000, 2_000)


def _check_writable(folder: Path) -> None:
    """Raise OSError now, not after the search, if ``folder`` refuses."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
        pass


def _is_full_data(sizes: dict[str, int]) -> bool:
    return (sizes["train"] + sizes["val"], sizes["test"]) == FULL_SIZES


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m byhand.search",
        description="Run the hyperparameter search of tasks 8-10 (or load "
        "its saved results) and write the course-format log.",
    )
    parser.add_argument("--root", help="CIFAR-10 root (else $CIFAR10_ROOT)")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="search size (default: $BYHAND_SEARCH or 'default')",
    )
    parser.add_argument("--results", type=Path, help="results folder")
    parser.add_argument(
        "--log",
        type=Path,
        default=None,
        help="where to write the course-format log (default: the "
        "project's gradient_descent_output.txt, written only by the "
        "default profile on the full data; always saved with the results)",
    )
    parser.add_argument("--force", action="store_true", help="retrain")
    parser.add_argument(
        "--no-progress", action="store_true", help="hide progress bars"
    )
    args = parser.parse_args(argv)
    torch.set_default_dtype(torch.float64)  # section 3.3
    try:
        config: SearchConfig = (
            PROFILES[args.profile] if args.profile else config_from_env()
        )
    except ProfileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        # Outputs are checked before anything trains.
        if args.log is not None:
            _check_writable(args.log.parent)
        if args.results is not None:
            _check_writable(args.results)
        splits = cat_car_splits(
            args.root, val_fraction=config.val_fraction, seed=config.split_seed
        )
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(
            f"error: cannot write there ({err}); choose another --log or "
            "--results",
            file=sys.stderr,
        )
        return 2
    result = run_search(
        splits,
        config,
        results_dir=args.results,
        force=args.force,
        progress=False if args.no_progress else None,
    )
    log_path = args.log
    if log_path is None and (
        config == PROFILES["default"] and _is_full_data(splits.sizes)
    ):
        log_path = project_root() / "gradient_descent_output.txt"
    if log_path is not None:
        atomic_write_text(log_path, result.log)
    where = log_path or result.folder / "gradient_descent_output.txt"
    with pd.option_context("display.width", 120, "display.max_rows", 100):
        print(results_table(result).to_string())
        print()
        print(test_table(result).round(4).to_string())
    how = "loaded from" if result.loaded_from_cache else "saved to"
    print(
        f"\n{result.meta['n_configs']} configurations (+ 2 baselines), "
        f"SGD and manual identical: {result.meta['all_identical']}; "
        f"results {how} {result.folder}; log in {where}; "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return 0 if result.meta["all_identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
