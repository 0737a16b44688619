"""Quarto pre-render step: no executed notebook of an earlier render stays.

Quarto keeps each chapter's kernel-executed notebook as
``chapters/<name>.quarto_ipynb`` (``keep-ipynb: true``) and, when one is
already there, writes ``<name>.quarto_ipynb_1`` instead.  Deleting them
all, and stamping the start time, lets the post-render step take only
this render's notebooks.
"""

from __future__ import annotations

import time
from pathlib import Path

from byhand.render import STAMP


def main() -> None:
    """Quarto's pre-render step."""
    for old in Path("chapters").glob("*.quarto_ipynb*"):
        old.unlink()
    STAMP.parent.mkdir(exist_ok=True)
    STAMP.write_text(f"{time.time()}\n")


if __name__ == "__main__":
    main()
