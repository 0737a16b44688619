"""The command's output paths: checked before anything trains (else an
`OutputPathError`, exit 2), written safely.  A symlink's target is
written; a device (``/dev/null``) or a FIFO someone reads is written
through, never replaced; any other non-regular file is refused."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import TextIO

from byhand._io import atomic_write_text

# Free space an output folder needs: a default search's results take
# about 1.5 MB (model.pt 0.8 MB, epochs.csv 0.2 MB).
MIN_FREE = 4 * 2**20


# What a path is, by the letter `ls -l` shows; None: a regular file.
KINDS = {"-": None, "d": "folder", "c": "device", "p": "FIFO"}


class OutputPathError(ValueError):
    """An output path that cannot take what the command writes there."""


def check_file(path: Path, flag: str) -> TextIO | None:
    """Raise `OutputPathError` unless ``path`` can take a written file;
    a device or FIFO is opened now and returned, for `write_file` (to
    close after it: closing it earlier would end a FIFO's reader)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode if path.exists() else stat.S_IFREG
        kind = KINDS.get(stat.filemode(mode)[0], "socket or block device")
        if kind == "folder":
            raise OutputPathError(
                f"{flag} {path} is a folder; name a file in it, e.g. "
                f"{path / 'gradient_descent_output.txt'}"
            )
        if kind in ("device", "FIFO"):  # written through, not replaced
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # no waiting
            os.set_blocking(fd, True)
            return os.fdopen(fd, "w", encoding="utf-8")
        if kind is not None:
            raise OutputPathError(
                f"{flag} {path} is a {kind}, not a regular file; name a file"
            )
        target = Path(os.path.realpath(path))  # a symlink: its target
        check_folder(target.parent, f"{flag} {path}:")
    except OSError as err:
        why = "nobody reads that FIFO" if err.errno == errno.ENXIO else err
        raise OutputPathError(
            f"{flag} {path} cannot be written ({why}); choose another path"
        ) from err
    return None


def check_folder(folder: Path, flag: str, *, write: bool = True) -> None:
    """Raise `OutputPathError` unless ``folder`` is (or can become) a folder
    that takes new files (with ``write``) and has room for them."""
    folder = Path(folder)
    existing = folder
    while not existing.exists():
        if existing.is_symlink():
            raise OutputPathError(
                f"{flag} {existing} is a broken symlink; fix or remove it"
            )
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(
            f"{flag} {existing} is a file, not a folder; choose a folder "
            "(or move the file away)"
        )
    if not write:
        return
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".probe-"):
            pass
    except OSError as err:
        raise OutputPathError(
            f"{flag} {folder} cannot be written ({err.strerror}); choose a "
            "folder you can write to"
        ) from err
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE:
        raise OutputPathError(
            f"{flag} {folder}: only {free // 1024} KiB free on its disk, "
            f"{MIN_FREE // 2**20} MiB needed; free some space or choose "
            "another disk"
        )


def write_file(path: Path, text: str, through: TextIO | None = None) -> None:
    """Write ``text`` whole: to ``through`` (the device or FIFO that
    `check_file` opened; closed here), else by a rename onto ``path``
    (onto a symlink's target, so the link stays)."""
    if through is not None:
        try:
            with through:  # closing flushes: a failure there is named too
                through.write(text)
        except OSError as err:  # name the path, not a descriptor
            raise OSError(err.errno, err.strerror, str(path)) from err
        return
    atomic_write_text(Path(os.path.realpath(path)), text)
