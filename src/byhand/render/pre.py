"""Quarto's pre-render step: nothing executed by an earlier render stays.

It deletes the executed notebooks Quarto keeps (``keep-ipynb: true``
writes ``chapters/<name>.quarto_ipynb``, or ``..._1`` beside an old one)
and stamps the start time, so the post-render step takes only this
render's; and ``.quarto/embed/``, whose notebooks Quarto 1.10 reuses in
a later render however stale (a new search's report would show the old
tables and figures).
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
