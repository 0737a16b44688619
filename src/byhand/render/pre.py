"""Quarto pre-render step: nothing executed by an earlier render stays.

Quarto keeps each chapter's kernel-executed notebook as
``chapters/<name>.quarto_ipynb`` (``keep-ipynb: true``) and, when one is
already there, writes ``<name>.quarto_ipynb_1`` instead.  Deleting them
all, and stamping the start time, lets the post-render step take only
this render's notebooks.

Quarto 1.10 also keeps each embedded notebook (``{{< embed >}}``) in
``.quarto/embed/`` and reuses it in a later render whatever changed
since: a report rendered after a new search would show the old search's
tables and figures.  That folder is deleted too, so every embed comes
from this render's execution.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from byhand.render import STAMP

EMBEDS = Path(".quarto") / "embed"


def clear(project: Path) -> None:
    """Delete earlier renders' executed and embedded notebooks."""
    for old in (project / "chapters").glob("*.quarto_ipynb*"):
        old.unlink()
    shutil.rmtree(project / EMBEDS, ignore_errors=True)


def main() -> None:
    """Quarto's pre-render step (run in the project folder)."""
    clear(Path.cwd())
    STAMP.parent.mkdir(exist_ok=True)
    STAMP.write_text(f"{time.time()}\n")


if __name__ == "__main__":
    main()
