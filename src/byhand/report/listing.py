"""Show the library's real source in a chapter (never a second copy),
and its modules as the report's table."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pandas as pd


def source(obj: Any) -> Any:
    """The source of ``obj`` as a Markdown code block for the notebook."""
    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```")


def module_table(root: Path | None = None) -> pd.DataFrame:
    """Every module of ``byhand`` (or the package at ``root``) and the
    first paragraph of its docstring, read from the source files: the
    top-level modules first, then each subpackage and its modules."""
    root = root or Path(__file__).resolve().parents[1]

    def order(p: Path) -> tuple:
        # top level first; a package's __init__ before its modules;
        # private modules after public ones
        init, private = p.stem == "__init__", p.stem.startswith("_")
        return (p.parent != root, p.parent.name, not init, private, p.stem)

    held = {}
    for path in sorted(root.rglob("*.py"), key=order):
        name = path.relative_to(root).with_suffix("").as_posix()
        if name == "__init__" or path.stem == "__main__":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text()))
        if not doc:
            raise ValueError(f"{path} has no docstring: write one")
        module = name.removesuffix("/__init__").replace("/", ".")
        first = doc.split("\n\n")[0].replace("`", "")
        held[module] = " ".join(first.split())
    return pd.DataFrame({"what it holds": held}).rename_axis("module")
