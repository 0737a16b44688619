"""A search's results folder ``search-{key}``: where it is, saved and
loaded.  ``manifest.json``, written last, holds the key, the
configuration and every file's sha256: a folder that is not exactly
what this search wrote is reported and retrained."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

import byhand
from byhand._io import atomic_dir, remove_stale, torch_save

MANIFEST = "manifest.json"
FILES = (
    "runs.csv", "epochs.csv", "test.json", "model.pt", "meta.json",
    "gradient_descent_output.txt",
)  # fmt: skip
# Bump when the training code or the saved format changes what a search
# produces: older saved results are then ignored.
RESULTS_VERSION = 5


class ResultsError(RuntimeError):
    """A saved results folder is not exactly what this search wrote."""


class ResultsPathError(OSError):
    """The results folder cannot be written."""


def unwritable(root: Path, err: OSError) -> ResultsPathError:
    return ResultsPathError(
        f"cannot write the search's results in {root} ({err}); set "
        "BYHAND_RESULTS (or --results) to a writable folder"
    )


def search_folder(root: Path, config: Any, splits: Any) -> Path:
    """``root/search-<key>``, the key a digest of all that determines the
    results: the search config, the data and split, the code versions."""
    blob = json.dumps(
        {
            "results_version": RESULTS_VERSION,
            "config": dataclasses.asdict(config),
            "data": f"{splits.checksum}:{splits.seed}",
            "byhand": byhand.__version__,
            "torch": torch.__version__,
            "dtype": str(torch.get_default_dtype()),
        },
        sort_keys=True,
    )
    return root / f"search-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


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
        """Every configuration (and baseline) once, from the course's
        seed, on the plain training split."""
        return self.runs[self.runs["stage"] == "grid"]


def _as_json(config: Any) -> Any:  # tuples become lists, as when read
    return json.loads(json.dumps(dataclasses.asdict(config)))


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def save(result: SearchResult, state_dict: dict[str, torch.Tensor]) -> None:
    """Write every file, the manifest last, into a temporary folder
    renamed to ``result.folder`` at the end."""

    def fill(tmp: Path) -> None:
        result.runs.to_csv(tmp / "runs.csv", index=False)
        result.epochs.to_csv(tmp / "epochs.csv", index=False)
        (tmp / "test.json").write_text(json.dumps(result.test, indent=1))
        (tmp / "gradient_descent_output.txt").write_text(result.log)
        torch_save(state_dict, tmp / "model.pt")  # full disk: OSError
        (tmp / "meta.json").write_text(json.dumps(result.meta, indent=1))
        manifest = {
            "key": result.folder.name.removeprefix("search-"),
            "config": _as_json(result.config),
            "files": {name: _sha256(tmp / name) for name in FILES},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))

    try:
        atomic_dir(result.folder, fill)
    except OSError as err:
        raise unwritable(result.folder.parent, err) from err


def load(folder: Path, config: Any) -> SearchResult:
    """Read a results folder; `ResultsError` unless it holds exactly what
    the search of its key and ``config`` wrote (as its manifest says)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        key, saved, files = (manifest[k] for k in ("key", "config", "files"))
        wrong = [n for n in FILES if _sha256(folder / n) != files[n]]
    except Exception as err:  # whatever the folder holds: no traceback
        raise ResultsError(f"the saved files do not read ({err!r})") from err
    mine = folder.name.removeprefix("search-")
    if key != mine or saved != _as_json(config):
        raise ResultsError(
            f"the folder holds another search's results (key {key!r}, not "
            f"{mine!r}, or another configuration)"
        )
    if wrong:
        raise ResultsError(f"{wrong[0]} is not the file the search wrote")
    meta = json.loads((folder / "meta.json").read_text())
    return SearchResult(
        config=config,
        runs=pd.read_csv(folder / "runs.csv"),
        epochs=pd.read_csv(folder / "epochs.csv"),
        selected=meta["selected"],
        test=json.loads((folder / "test.json").read_text()),
        log=(folder / "gradient_descent_output.txt").read_text(),
        folder=folder,
        meta=meta,
        loaded_from_cache=True,
    )


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[OSError | None]:
    """Lock ``folder`` (a ``.lock`` file beside it): searches of one key
    wait for each other; the holder removes what a killed writer left.
    Yields None, or the error where no lock can be made (read-only)."""
    lock = folder.parent / f".{folder.name}.lock"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder.parent).close()
        lock.touch()
    except OSError as err:
        yield err
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        remove_stale(folder)
        yield None
