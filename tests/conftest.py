"""Shared test set-up: float64, the `slow` switch, small synthetic data,
private folders for caches and results, and one hard tiny search."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hypothesis.configuration import set_hypothesis_home_dir
from synthetic import write_synthetic_cifar10
from torch.utils.data import Dataset

from byhand import cifar, data
from byhand.search import run as search

# The tiny profile with three kinds of learning rate: one that trains
# (0.05), one too small to move the weights in 3 epochs (1e-4), and a
# probe that overflows to NaN at once (1e200).
HARD_CONFIG = dataclasses.replace(
    search.TINY, grid_lr=(0.05, 1e-4), probes=((1e200, 0.9, 0.0),)
)


ROOT = Path(__file__).resolve().parents[1]
# What Python and pytest keep for themselves; anything else a test run
# leaves in the checkout is a defect.
OWN_CACHES = ("__pycache__", ".pytest_cache/", ".ruff_cache/")


def _checkout_files() -> set[str] | None:
    """Untracked and ignored files of the checkout (None: not a git one)."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--ignored", "-uall"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {
        line[3:]
        for line in out.splitlines()
        if not any(c in line for c in OWN_CACHES)
    }


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_BEFORE] = _checkout_files()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if the tests left files in the checkout."""
    before = session.config.stash.get(_BEFORE, None)
    after = _checkout_files()
    if before is None or after is None:
        return
    new = sorted(after - before)
    if new:
        print(f"\ntests left files in the checkout: {new}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[set[str] | None]()
# Hypothesis keeps its examples and constants in .hypothesis/ of the
# working directory unless told otherwise, even after the last test.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "byhand-hypothesis")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow",
        action="store_true",
        default=False,
        help="run tests marked slow (also: BYHAND_SLOW=1)",
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    run_slow = config.getoption("--runslow") or os.environ.get(
        "BYHAND_SLOW"
    ) in ("1", "true", "yes")
    skip_slow = pytest.mark.skip(reason="slow: use --runslow or BYHAND_SLOW=1")
    skip_cuda = pytest.mark.skip(reason="no CUDA GPU present")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if "cuda" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_cuda)


@pytest.fixture(scope="session", autouse=True)
def _private_folders(tmp_path_factory):
    """Caches and results of every test go to a temporary folder, never
    into the checkout (tests/test_isolation.py checks it)."""
    tmp = tmp_path_factory.mktemp("private")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BYHAND_CACHE", str(tmp / "cache"))
        mp.setenv("BYHAND_RESULTS", str(tmp / "results"))
        mp.setenv("MPLCONFIGDIR", str(tmp / "matplotlib"))
        yield


@pytest.fixture(autouse=True)
def _one_worker(monkeypatch):
    """Searches train in the test's process (a pool costs seconds to
    start); test_search checks that two workers give the same results."""
    monkeypatch.setenv("BYHAND_WORKERS", "1")


@pytest.fixture(autouse=True)
def _double_precision():
    """Every test runs in float64, as the assignment's section 3.3 asks."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture
def real_cifar10_root() -> str:
    """The real CIFAR-10 for slow tests: $CIFAR10_ROOT, else skip."""
    root = os.environ.get("CIFAR10_ROOT")
    if not root:
        pytest.skip("set CIFAR10_ROOT to the real CIFAR-10")
    return root


@pytest.fixture
def cifar_root(tmp_path, monkeypatch):
    """A tiny synthetic CIFAR-10 and a private resize cache."""
    # 20 training and 5 test images per class: tiny but stratifiable.
    root = write_synthetic_cifar10(tmp_path / "cifar", 20, 5)
    monkeypatch.setenv("BYHAND_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CIFAR10_ROOT", raising=False)
    cifar._warned_roots.clear()
    return root


@pytest.fixture
def tiny_splits(cifar_root):
    """The cat/car splits of `cifar_root`, a fifth for validation."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unofficial checksums
        return data.cat_car_splits(
            cifar_root, val_fraction=0.2, download=False
        )


class CountingDataset(Dataset):
    """Wraps a split and counts every sample read."""

    def __init__(self, ds):
        self.ds, self.reads = ds, 0
        self.tensors = ds.tensors

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        # One index, or a batch's slice of them (byhand.data.loader).
        self.reads += len(range(len(self))[i]) if isinstance(i, slice) else 1
        return self.ds[i]


@pytest.fixture(scope="session")
def hard(tmp_path_factory):
    """A tiny search where things can go wrong, shared by many tests.

    Cat and car colours overlap (``spread``), so seeds differ, the
    selected configuration's course-seed run is not its best seed, the
    test split has mistakes of distinct confidences; a diverged probe.
    Fields: result, splits, raw (the official sets), folder, config,
    test_reads (samples of the test split the search read).
    tests/test_hard_fixture.py checks that it stays this hard.
    """
    tmp = tmp_path_factory.mktemp("hard")
    root = write_synthetic_cifar10(tmp / "c", 40, 20, spread=150.0)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unofficial checksums
            splits = data.cat_car_splits(
                root, val_fraction=0.2, download=False, cache=tmp / "cache"
            )
            raw = cifar.load_cifar10(root, download=False)
        counting = CountingDataset(splits.test)
        seen = dataclasses.replace(splits, test=counting)
        folder = tmp / "results"
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("BYHAND_WORKERS", "1")
            result = search.run_search(seen, HARD_CONFIG, results_dir=folder)
    finally:
        torch.set_default_dtype(old)
    return SimpleNamespace(
        result=result,
        splits=splits,
        raw=raw,
        folder=folder,
        config=HARD_CONFIG,
        test_reads=counting.reads,
    )
