"""Quarto's post-render step: this render's executed chapters become the
deliverable notebooks, then `byhand.render.handin` packs the hand-in.

They are built from ``chapters/<name>.quarto_ipynb`` (``keep-ipynb:
true``), with every output as Jupyter produced it (Quarto's
``.out.ipynb`` drop Markdown outputs and mangle DataFrame HTML): a title
cell, a ``python3`` kernelspec without a path, no ``#|`` lines, numbered
captions, and "Figure 1", "equation (3)" for Quarto's references.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import yaml

from byhand._io import atomic_write_text
from byhand.render import KIND, NOTEBOOKS, STAMP, XREF, handin
from byhand.render.check import cell_options

KERNELSPEC = {
    "display_name": "Python 3",
    "language": "python",
    "name": "python3",
}


def newest_executed(chapters: Path, name: str, since: float) -> Path:
    """This render's executed notebook of chapter ``name``."""
    found = [
        p
        for p in chapters.glob(f"{name}.quarto_ipynb*")
        if p.stat().st_mtime >= since
    ]
    if not found:
        raise SystemExit(
            f"post-render: no executed notebook chapters/{name}.quarto_ipynb "
            "from this render; is `keep-ipynb: true` in the chapter's front "
            "matter, and was the whole project rendered (quarto render)?"
        )
    return max(found, key=lambda p: p.stat().st_mtime)


def _title_cell(front_matter: str) -> nbformat.NotebookNode:
    meta = yaml.safe_load(front_matter.strip().strip("-")) or {}
    lines = [f"# {meta.get('title', 'Notebook')}"]
    if meta.get("subtitle"):
        lines.append(f"*{meta['subtitle']}*")
    return nbformat.v4.new_markdown_cell("\n\n".join(lines))


def _strip_options(cell: nbformat.NotebookNode) -> dict[str, str]:
    """Drop the ``#|`` lines; return them as options (label kept)."""
    options = cell_options(cell.source)
    if "label" in options:
        cell.metadata["label"] = options["label"]
    lines = cell.source.splitlines()
    cell.source = "\n".join(ln for ln in lines if not ln.startswith("#|"))
    return options


EQUATION = re.compile(r"\$\$(.*?)\$\$\s*\{#(eq-[\w-]+)\}", re.S)


def _number(cells: list) -> list:
    """Number figures, tables and equations; resolve references to them."""
    names: dict[str, str] = {}
    counts = {"fig": 0, "tbl": 0, "eq": 0}
    out = []
    for cell in cells:
        if cell.cell_type == "markdown":

            def tag(m: re.Match) -> str:
                counts["eq"] += 1
                names[m.group(2)] = f"equation ({counts['eq']})"
                return f"$${m.group(1).rstrip()}\n\\tag{{{counts['eq']}}}\n$$"

            cell.source = EQUATION.sub(tag, cell.source)
            out.append(cell)
            continue
        options = _strip_options(cell) if cell.cell_type == "code" else {}
        label = options.get("label", "")
        kind = label[:3]
        if kind not in KIND:
            out.append(cell)
            continue
        counts[kind] += 1
        names[label] = f"{KIND[kind]} {counts[kind]}"
        caption = options.get(f"{kind}-cap", "")
        text = f"**{names[label]}.** {caption}".strip()
        caption_cell = nbformat.v4.new_markdown_cell(text)
        # Tables are captioned above, figures below, as in the report.
        out += [caption_cell, cell] if kind == "tbl" else [cell, caption_cell]

    def resolve(m: re.Match) -> str:
        return names.get(m.group(1), m.group(0))

    for cell in out:
        if cell.cell_type == "markdown":
            cell.source = re.sub(XREF, resolve, cell.source)
    return out


def deliverable(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook a grader opens, from the kernel-executed one."""
    cells = list(nb.cells)
    if cells and cells[0].source.lstrip().startswith("---"):
        cells[0] = _title_cell(cells[0].source)
    nb.cells = _number(cells)  # also drops the #| lines
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
    }
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):  # stable ids (nbformat 4.5)
        cell["id"] = f"cell-{i}"
    # In [1], In [2], ... as a run from the top gives; a notebook read
    # from Quarto's execution cache starts at 2 (its setup cell's count).
    code = [c for c in nb.cells if c.get("execution_count") is not None]
    for count, cell in enumerate(code, start=1):
        cell.execution_count = count
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = count
    nbformat.validate(nb)
    return nb


def collect(project: Path, out: Path, since: float) -> list[Path]:
    """Write each chapter's deliverable notebook into ``out``."""
    written = []
    for name in NOTEBOOKS:
        src = newest_executed(project / "chapters", name, since)
        nb = deliverable(nbformat.reads(src.read_text(), as_version=4))
        dest = out / f"{name}.ipynb"
        atomic_write_text(dest, nbformat.writes(nb))
        written.append(dest)
    return written


def drop_stale_handin(out: Path) -> None:
    """Remove a hand-in whose deliverables are no longer ``out``'s (a
    new report.pdf), so that nobody uploads an old report."""
    older = handin.stale(out)
    if older:
        shutil.rmtree(out / handin.FOLDER)
        (out / f"{handin.FOLDER}.zip").unlink(missing_ok=True)
        print(
            f"post-render: the hand-in held an older {', '.join(older)} and "
            "is removed; `quarto render` builds it again"
        )


def main() -> None:
    """Quarto's post-render step: write this render's notebooks."""
    out = Path(os.environ.get("QUARTO_PROJECT_OUTPUT_DIR", "_output"))
    if os.environ.get("QUARTO_PROJECT_RENDER_ALL") != "1":
        # One file (`quarto render report.qmd`, `quarto preview`): its
        # chapters were not all executed, so the deliverables stay.
        print(
            "post-render: one file rendered; `quarto render` builds the "
            "notebooks and the hand-in"
        )
        drop_stale_handin(out)
        return
    since = float(STAMP.read_text()) if STAMP.exists() else 0.0
    for path in collect(Path.cwd(), out, since):
        print(f"post-render: wrote {path}")
    print(f"post-render: wrote {handin.build(out, Path.cwd())}")


if __name__ == "__main__":
    main()
