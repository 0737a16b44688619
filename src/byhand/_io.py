"""Files: where the project is, and writes that land whole or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _usual_mode(path: Path, base: int) -> None:
    """Give a temporary file or folder the mode a plain create would.

    ``mkstemp`` and ``mkdtemp`` make private 0600/0700 entries; the
    results and the log are ordinary project files (0644/0755 under the
    usual umask).
    """
    os.chmod(path, base & ~_umask())


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(Path(tmp))
        _usual_mode(Path(tmp), 0o666)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def torch_save(obj: object, path: Path) -> None:
    """``torch.save`` through memory, so that a full disk raises OSError
    (ENOSPC, EFBIG) as other writes do, not torch's RuntimeError."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    try:
        Path(path).write_bytes(buffer.getvalue())
    except OSError as err:  # name the file
        raise OSError(err.errno, err.strerror, str(path)) from err


def atomic_dir(path: Path, fill: Callable[[Path], None]) -> None:
    """Fill a temporary folder, then rename it to ``path`` (replacing it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        fill(tmp)
        _usual_mode(tmp, 0o777)
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
