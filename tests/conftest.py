"""Shared test set-up: float64, the `slow` switch, small synthetic data."""

from __future__ import annotations

import os
import warnings

import pytest
import torch

from byhand import cifar, data
from byhand.testing import write_synthetic_cifar10


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
