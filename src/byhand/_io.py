"""Files: where the project is, and writes that land whole or not at all.

A write goes to a temporary ``.<name>.<random>.tmp`` beside its target,
locked (``flock``) while written, then renamed over the target; the next
write removes a killed writer's unlocked temporary (`remove_stale`).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import io
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path


def project_root() -> Path:
    """The project folder (Quarto's, else the checkout holding src/)."""
    if "QUARTO_PROJECT_DIR" in os.environ:
        return Path(os.environ["QUARTO_PROJECT_DIR"])
    here = Path(__file__).resolve()
    if (here.parents[2] / "pyproject.toml").exists():
        return here.parents[2]
    return Path.cwd()


# CIFAR-10's "python version" layout: <root>/cifar-10-batches-py/.
CIFAR_FOLDER = "cifar-10-batches-py"


def setting(name: str) -> Path | None:
    """The folder environment variable ``name`` names, if set.  Under
    Quarto a relative one is taken from the project folder, where the
    render was started (its kernels run in ``chapters/``)."""
    value = os.environ.get(name)
    if not value:
        return None
    path = Path(value).expanduser()
    if "QUARTO_PROJECT_DIR" in os.environ and not path.is_absolute():
        return project_root() / path
    return path


def resolve_root(root: str | os.PathLike | None = None) -> Path:
    """CIFAR-10's root: ``root``, else ``$CIFAR10_ROOT``, else ``data/``."""
    if root is not None:
        return Path(root).expanduser()
    return setting("CIFAR10_ROOT") or project_root() / "data"


def cache_dir() -> Path:
    """Where computed data is kept: ``$BYHAND_CACHE`` or ``data/cache``."""
    return setting("BYHAND_CACHE") or project_root() / "data" / "cache"


def results_root() -> Path:
    """``$BYHAND_RESULTS``, else ``results/`` in the project."""
    return setting("BYHAND_RESULTS") or project_root() / "results"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale(path: Path) -> None:
    """Remove the temporaries of ``path`` whose writer is gone (unlocked)."""
    for tmp in Path(path).parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):  # gone, or a live writer's
            fd = os.open(tmp, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                _remove(tmp)
            finally:
                os.close(fd)


def _atomic(path: Path, fill: Callable[[Path], None], folder: bool) -> None:
    """Fill a temporary file or folder beside ``path``, locked while in
    use, then rename it over ``path``; on failure remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    # Made as a plain open or mkdir would, so its mode follows the umask.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    if folder:
        tmp.mkdir()
    else:
        tmp.touch(exist_ok=False)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        fill(tmp)
        if folder and path.exists():  # cannot be renamed over a full one
            old = path.with_name(f".{path.name}.old.tmp")
            _remove(old)
            os.replace(path, old)
            os.replace(tmp, path)
            _remove(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file, then rename it to ``path``."""
    _atomic(path, write, folder=False)


def atomic_dir(path: Path, fill: Callable[[Path], None]) -> None:
    """Fill a temporary folder, then rename it to ``path`` (replacing it)."""
    _atomic(path, fill, folder=True)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def torch_save(obj: object, path: Path) -> None:
    """``torch.save`` through memory, so that a full disk raises OSError
    (ENOSPC, EFBIG) as other writes do, not torch's RuntimeError."""
    import torch  # here: the render tools import this module without it

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    try:
        Path(path).write_bytes(buffer.getvalue())
    except OSError as err:  # name the file
        raise OSError(err.errno, err.strerror, str(path)) from err
