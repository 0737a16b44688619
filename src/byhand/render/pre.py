"""Quarto's pre-render step: nothing an earlier render executed stays
unless it is what this render would compute.

It deletes the executed notebooks Quarto keeps (``chapters/*.quarto_ipynb*``)
and ``.quarto/embed/`` (Quarto 1.10 reuses those however stale), stamps
the start time for the post-render step, and empties the chapters'
execution cache (jupyter-cache, keyed on code cells alone) whenever
`chapter_inputs` differs from the one of the render that filled it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shutil
import sys
import time
from pathlib import Path

from byhand._io import (
    CIFAR_FOLDER,
    atomic_write_text,
    cache_dir,
    resolve_root,
    results_root,
)
from byhand.render import STAMP

EMBEDS = Path(".quarto") / "embed"
# The source of the byhand the pre-render step (and the kernel) imports.
PACKAGE = Path(__file__).resolve().parents[1]
# The digest of the inputs that filled the chapters' execution cache.
INPUTS = Path(".quarto") / "byhand-chapter-inputs"
SETTINGS = (
    "BYHAND_", "CIFAR10_ROOT", "PYTHONPATH", "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)  # fmt: skip


def clear(project: Path) -> None:
    """Delete earlier renders' executed and embedded notebooks."""
    for old in (project / "chapters").glob("*.quarto_ipynb*"):
        old.unlink()
    shutil.rmtree(project / EMBEDS, ignore_errors=True)


def chapter_inputs(package: Path = PACKAGE) -> str:
    """A digest of what the chapters' outputs depend on besides their code
    cells: the package's source, Python and its packages, the settings
    (environment) and every data, cache and results file (path, size and
    modification time; the lock files a search only touches left out)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(f"{path.relative_to(package)}\n".encode())
        digest.update(path.read_bytes())
    packages = sorted(
        f"{d.metadata['Name']}=={d.version}"
        for d in importlib.metadata.distributions()
    )
    settings = sorted(
        (k, v) for k, v in os.environ.items() if k.startswith(SETTINGS)
    )
    machine = (sys.version, platform.machine(), os.cpu_count())
    digest.update(repr((machine, packages, settings)).encode())
    for folder in (resolve_root() / CIFAR_FOLDER, cache_dir(), results_root()):
        # Linked folders too (a results folder shared by several clones).
        for where, _, names in sorted(os.walk(folder, followlinks=True)):
            for name in sorted(n for n in names if not n.endswith(".lock")):
                path = Path(where, name)
                st = path.stat() if path.exists() else path.lstat()
                digest.update(
                    f"{path}|{st.st_size}|{st.st_mtime_ns}\n".encode()
                )
    return digest.hexdigest()


def refresh_cache(project: Path, package: Path = PACKAGE) -> bool:
    """Empty the chapters' execution cache unless its inputs are this
    render's; True when it was kept."""
    now = chapter_inputs(package)
    stamp = project / INPUTS
    if stamp.is_file() and stamp.read_text() == now:
        return True
    # jupyter-cache's folder, relative to the chapters' ($JUPYTERCACHE)
    cache = os.environ.get("JUPYTERCACHE", ".jupyter_cache")
    shutil.rmtree(project / "chapters" / cache, ignore_errors=True)
    atomic_write_text(stamp, now)
    return False


def main() -> None:
    """Quarto's pre-render step (run in the project folder)."""
    project = Path.cwd()
    clear(project)
    STAMP.parent.mkdir(exist_ok=True)
    STAMP.write_text(f"{time.time()}\n")
    if not refresh_cache(project):
        print("pre-render: the chapters' inputs changed; they run afresh")


if __name__ == "__main__":
    main()
