"""A search's results folder: where it is, how it is saved, loaded, checked.

A folder ``search-<key>`` holds ``runs.csv``, ``epochs.csv``,
``test.json``, ``model.pt`` (the selected model), ``meta.json`` and the
course-format log.  The key digests everything that determines the
results, so a second search with the same inputs loads them instead of
retraining; a folder that fails any check is reported and retrained.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

import byhand
from byhand._io import atomic_dir, project_root, torch_save
from byhand.network import MyMLP
from byhand.search.pair import RUN_COLUMNS

FILES = (
    "runs.csv",
    "epochs.csv",
    "test.json",
    "model.pt",
    "meta.json",
    "gradient_descent_output.txt",
)
EPOCH_COLUMNS = (
    "run", "epoch", "train_loss", "train_loss_manual",
    "train_acc_running", "val_loss", "val_acc",
)  # fmt: skip
# Bump when the training code or the saved format changes what a search
# produces: older saved results are then ignored.
RESULTS_VERSION = 4


class ResultsError(RuntimeError):
    """A saved results folder is incomplete or inconsistent."""


def results_root() -> Path:
    """``$BYHAND_RESULTS``, else ``results/`` in the project."""
    if os.environ.get("BYHAND_RESULTS"):
        return Path(os.environ["BYHAND_RESULTS"])
    return project_root() / "results"


def cache_key(config: Any, data_checksum: str) -> str:
    """A digest of the search config, the data and the code versions."""
    blob = json.dumps(
        {
            "results_version": RESULTS_VERSION,
            "config": dataclasses.asdict(config),
            "data": data_checksum,
            "byhand": byhand.__version__,
            "torch": torch.__version__,
            "dtype": str(torch.get_default_dtype()),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class SearchResult:
    """What the search produced, as saved in its results folder."""

    config: Any  # the SearchConfig
    runs: pd.DataFrame  # one row per configuration and baseline
    epochs: pd.DataFrame  # one row per (run, epoch)
    selected: str  # run id of the selected model
    test: dict[str, Any]  # evaluate_test of the selected model
    log: str  # the course-format log
    folder: Path
    meta: dict[str, Any]
    loaded_from_cache: bool = False

    def selected_row(self) -> pd.Series:
        return self.runs.set_index("run").loc[self.selected]

    def grid_runs(self) -> pd.DataFrame:
        """The grid stage: every configuration once, from the course's
        seed, on the plain training split (and the baselines)."""
        return self.runs[self.runs["stage"] == "grid"]


def save(
    folder: Path,
    *,
    runs: pd.DataFrame,
    epochs: pd.DataFrame,
    test: dict[str, Any],
    log: str,
    state_dict: dict[str, torch.Tensor],
    meta: dict[str, Any],
) -> None:
    """Write every file into a temporary folder, then rename it."""

    def fill(tmp: Path) -> None:
        runs.to_csv(tmp / "runs.csv", index=False)
        epochs.to_csv(tmp / "epochs.csv", index=False)
        (tmp / "test.json").write_text(json.dumps(test, indent=1))
        (tmp / "gradient_descent_output.txt").write_text(log)
        torch_save(state_dict, tmp / "model.pt")  # full disk: OSError
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))

    atomic_dir(folder, fill)


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except Exception as err:
        raise ResultsError(f"{path.name} is unreadable ({err})") from err
    missing = [c for c in columns if c not in table]
    if missing:
        raise ResultsError(f"{path.name} lacks the columns {missing}")
    return table


def load(folder: Path, config: Any) -> SearchResult:
    """Read a results folder and check it whole; `ResultsError` if not.

    Checks: every file present; every run of ``config`` in runs.csv with
    its epochs; the selected run present and unique; test.json complete;
    model.pt loads with ``weights_only=True`` into a MyMLP of the saved
    shape.
    """
    absent = [f for f in FILES if not (folder / f).is_file()]
    if absent:
        raise ResultsError(f"missing {', '.join(absent)}")
    try:
        meta = json.loads((folder / "meta.json").read_text())
        test = json.loads((folder / "test.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ResultsError(f"a JSON file is unreadable ({err})") from err
    for key in ("selected", "classes", "n_in", "n_out", "sizes"):
        if key not in meta:
            raise ResultsError(f"meta.json lacks {key!r}")
    for key in ("n", "accuracy", "ci95", "confusion", "per_class"):
        if key not in test:
            raise ResultsError(f"test.json lacks {key!r}")
    runs = _read_csv(
        folder / "runs.csv",
        (*RUN_COLUMNS, "config", "stage", "protocol", "selected"),
    )
    epochs = _read_csv(folder / "epochs.csv", EPOCH_COLUMNS)
    expected = set(meta.get("runs", []))
    if not expected or set(runs["run"]) != expected:
        raise ResultsError("runs.csv does not hold every run of the search")
    trained = runs[runs["epochs_run"] > 0]
    counts = epochs.groupby("run").size()
    for run, n in zip(trained["run"], trained["epochs_run"], strict=True):
        if counts.get(run, 0) != n:
            raise ResultsError(f"epochs.csv is incomplete for run {run}")
    chosen = runs[runs["run"] == meta["selected"]]
    if len(chosen) != 1 or not bool(chosen["selected"].iloc[0]):
        raise ResultsError(
            f"the selected run {meta['selected']!r} is not in runs.csv"
        )
    try:
        _saved_model(folder, meta, config)
    except Exception as err:
        raise ResultsError(f"model.pt does not load ({err})") from err
    return SearchResult(
        config=config,
        runs=runs,
        epochs=epochs,
        selected=meta["selected"],
        test=test,
        log=(folder / "gradient_descent_output.txt").read_text(),
        folder=folder,
        meta=meta,
        loaded_from_cache=True,
    )


def _saved_model(folder: Path, meta: dict[str, Any], config: Any) -> MyMLP:
    model = MyMLP(
        n_in=meta["n_in"], hidden=tuple(config.hidden), n_out=meta["n_out"]
    )
    state = torch.load(folder / "model.pt", weights_only=True)
    model.load_state_dict(state)
    return model


def load_model(result: SearchResult) -> MyMLP:
    """The selected MyMLP with its trained parameters."""
    return _saved_model(result.folder, result.meta, result.config)


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (a ``.lock`` file beside it).

    Concurrent searches of one key wait for each other instead of racing;
    the one holding the lock also removes partial folders that a killed
    writer left behind.
    """
    if not folder.parent.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
    lock = folder.parent / f".{folder.name}.lock"
    try:
        handle = open(lock, "a")  # noqa: SIM115 (closed below)
    except OSError:
        if not folder.is_dir():
            raise
        yield  # read-only: nobody can write here, the saved ones load
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            for stale in folder.parent.glob(f".{folder.name}.*"):
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
