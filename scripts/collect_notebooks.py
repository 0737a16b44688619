"""Quarto post-render step: give the executed notebooks their names.

The manuscript render writes ``<output>/chapters/<name>.out.ipynb``; the
deliverables are ``<output>/backpropagation.ipynb`` and
``<output>/gradient_descent.ipynb``, with a python3 kernelspec so Jupyter
opens them directly (the rendered copies have empty metadata).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

NOTEBOOKS = ("backpropagation", "gradient_descent")
KERNELSPEC = {
    "kernelspec": {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    },
    "language_info": {"name": "python"},
}


def collect(out: Path) -> list[Path]:
    written = []
    for name in NOTEBOOKS:
        src = out / "chapters" / f"{name}.out.ipynb"
        if not src.exists():
            raise SystemExit(
                f"post-render: {src} was not produced; render the whole "
                "project (quarto render) with the html format enabled"
            )
        nb = json.loads(src.read_text())
        nb.setdefault("metadata", {}).update(KERNELSPEC)
        dest = out / f"{name}.ipynb"
        tmp = dest.with_suffix(".ipynb.tmp")
        tmp.write_text(json.dumps(nb, indent=1))
        os.replace(tmp, dest)
        written.append(dest)
    return written


if __name__ == "__main__":
    out = Path(os.environ.get("QUARTO_PROJECT_OUTPUT_DIR", "_output"))
    if not (out / "chapters").exists():
        # A render of a single file (e.g. quarto preview): nothing to do.
        sys.exit(0)
    for path in collect(out):
        print(f"post-render: wrote {path}")
