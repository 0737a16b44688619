"""Check the rendered deliverables as a grader opens them.

``python -m byhand.render.check _output`` prints every problem (raw
Quarto markup or an unnumbered cited float in the PDF, a notebook that
is invalid, lacks an output or carries a machine path, a stale hand-in)
and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import html
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import jupytext
import nbformat
import yaml

from byhand._io import project_root
from byhand.render import KIND, NOTEBOOKS, XREF, handin

RAW_MARKUP = (":::", "?@", "#| ")


def pdf_text(pdf: Path) -> str:
    """The PDF's text: pdftotext when installed, else pypdf."""
    if shutil.which("pdftotext"):
        done = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout
    from pypdf import PdfReader

    return "\n".join(p.extract_text() or "" for p in PdfReader(pdf).pages)


def label_numbers(report_html: str) -> dict[str, str]:
    """``{label: "Figure 3"}`` from the cross-reference links of the HTML."""
    numbers = {}
    for href, text in re.findall(
        r'<a href="#((?:fig|tbl)-[\w-]+)"[^>]*>(.*?)</a>', report_html, re.S
    ):
        text = html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
        text = text.replace("\xa0", " ")
        if re.fullmatch(r"(Figure|Table) \d+", text):
            numbers.setdefault(href, text)
    return numbers


def check_report(
    text: str, report_qmd: str, report_html: str | None
) -> list[str]:
    """Problems of the PDF's text against the labels the source cites."""
    problems = [
        f"report.pdf shows raw markup {m!r}: "
        f"{text[max(0, text.index(m) - 30) : text.index(m) + 50]!r}"
        for m in RAW_MARKUP
        if m in text
    ]
    flat = re.sub(r"\s+", " ", text)
    numbers = label_numbers(report_html) if report_html is not None else {}
    cited = {x for x in re.findall(XREF, report_qmd) if x[:3] in KIND}
    for label in sorted(cited):
        number = numbers.get(label)
        if report_html is not None and number is None:
            problems.append(f"@{label} is not a numbered cross-reference")
            continue
        if label.startswith("tbl-") and not html_has_table(report_html, label):
            problems.append(f"index.html: @{label} shows no table")
        # Without the HTML, at least the kind must be numbered somewhere.
        want = number or f"{KIND[label[:3]]} "
        pattern = re.escape(want) + (r":" if number else r"\d+:")
        if not re.search(pattern, flat):
            problems.append(
                f"@{label}: no caption '{want}:' in the PDF (not numbered)"
            )
    return problems


def html_has_table(report_html: str | None, label: str) -> bool:
    """Does the HTML's float ``label`` hold a ``<table>`` (Quarto 1.10 can
    embed a notebook's table as an empty box)?  True without the HTML."""
    if report_html is None:
        return True
    start = report_html.find(f'id="{label}"')
    end = report_html.find("</figure>", start)
    return start >= 0 and "<table" in report_html[start:end]


def check_notebook(
    path: Path, qmd: Path, machine_paths: Sequence[str]
) -> list[str]:
    """Valid nbformat 4, a python3 kernelspec, no path of this machine,
    no Quarto markup left, every output of the chapter ``qmd``."""
    if not path.is_file():
        return [f"{path.name}: missing"]
    problems: list[str] = []
    raw = read_text(path, problems)
    if raw is None:
        return problems
    try:
        nb = nbformat.reads(raw, as_version=4)
        nbformat.validate(nb)
    except Exception as err:
        return [f"{path.name}: not valid nbformat 4 ({err})"]
    spec = nb.metadata.get("kernelspec", {})
    if spec.get("name") != "python3":
        problems.append(f"{path.name}: no python3 kernelspec")
    if "path" in spec:
        problems.append(f"{path.name}: the kernelspec carries a path")
    for p in machine_paths:
        if p and len(p) > 1 and p in raw:
            problems.append(f"{path.name}: carries a machine path {p!r}")
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    refs = re.findall(
        r"@(?:fig|tbl|eq)-[\w-]+|\{#\w+-[\w-]+\}", "\n".join(markdown)
    )
    problems += [f"{path.name}: unresolved Quarto markup {r}" for r in refs]
    return problems + chapter_outputs(nb, qmd, path.name)


def cell_options(source: str) -> dict[str, str]:
    """A code cell's Quarto options (its ``#| key: value`` lines), a
    string as YAML reads it (Quarto writes ``'it''s'``), else unquoted."""
    out = {}
    for line in source.splitlines():
        if line.startswith("#|"):
            key, _, value = line[2:].partition(":")
            key = key.strip()
            out[key] = value.strip().strip("'\"")
            with contextlib.suppress(yaml.YAMLError):
                if isinstance(parsed := yaml.safe_load(value), str):
                    out[key] = parsed
    return out


def shows_output(source: str) -> bool:
    """Does this cell display something: a last expression or a print?"""
    opts = cell_options(source)
    if "false" in (opts.get("include"), opts.get("output")):
        return False
    if opts.get("label", "").startswith(("fig-", "tbl-")):
        return True
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        return True
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
        for node in ast.walk(tree)
    )


def chapter_outputs(
    nb: nbformat.NotebookNode, qmd: Path, name: str
) -> list[str]:
    """Every chapter cell that shows output has it, in its rich form."""
    problems: list[str] = []
    text = read_text(qmd, problems)
    if text is None:
        return problems
    chapter = jupytext.reads(text, fmt="Rmd")
    sources = [c.source for c in chapter.cells if c.cell_type == "code"]
    cells = [c for c in nb.cells if c.cell_type == "code"]
    if len(cells) != len(sources):
        return [
            f"{name}: {len(cells)} code cells, the chapter has {len(sources)}"
        ]
    for i, (src, cell) in enumerate(zip(sources, cells, strict=True)):
        if not shows_output(src):
            continue
        label = cell_options(src).get("label", f"code cell {i + 1}")
        data = {}
        for out in cell.get("outputs", []):
            data.update(out.get("data", {}))
            if out.get("output_type") == "error":
                problems.append(f"{name}: {label} raised {out.get('ename')}")
        if not cell.get("outputs"):
            problems.append(f"{name}: {label} shows no output")
        elif label.startswith("tbl-") and "<table" not in str(
            data.get("text/html", "")
        ):
            problems.append(f"{name}: {label} has no HTML <table> output")
        elif label.startswith("fig-") and "image/png" not in data:
            problems.append(f"{name}: {label} has no PNG figure")
    return problems


def read_text(path: Path, problems: list[str]) -> str | None:
    """``path``'s text, or None with the reason added to ``problems``."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{path} is missing")
    except (OSError, UnicodeDecodeError) as err:
        problems.append(f"{path} cannot be read ({err})")
    return None


def pdf_problems(pdf: Path) -> tuple[list[str], str | None]:
    """Why ``pdf`` is no readable PDF (empty: it is), and its text."""
    if not pdf.is_file():
        return ["report.pdf is missing"], None
    try:
        head = pdf.read_bytes()[:5]
    except OSError as err:
        return [f"report.pdf cannot be read ({err})"], None
    if not head:
        return ["report.pdf is empty (0 bytes); render again"], None
    if head != b"%PDF-":
        return [f"report.pdf is not a PDF (it starts {head!r})"], None
    try:
        return [], pdf_text(pdf)
    except Exception as err:  # whatever a damaged PDF makes a parser raise
        return [f"report.pdf cannot be read as a PDF ({err})"], None


def check(output: Path, project: Path) -> list[str]:
    """Every problem of a rendered output folder (empty: all good)."""
    if not output.is_dir():
        return [
            f"the output folder {output} does not exist or is not a folder; "
            "render first (scripts/render.sh) or name the render's folder"
        ]
    problems: list[str] = []
    report_qmd = read_text(project / "report.qmd", problems)
    if report_qmd is None:
        problems.append(
            f"{project} is not the project folder (no readable report.qmd);"
            " run from the project or pass --project"
        )
        return problems
    report_html = read_text(output / "index.html", [])
    if report_html is None:
        problems.append("index.html (the report as HTML) is missing")
    broken, text = pdf_problems(output / "report.pdf")
    problems += broken
    if text is not None:
        problems += check_report(text, report_qmd, report_html)
    # expanduser, unlike Path.home, does not raise when HOME is unset.
    machine = [str(project.resolve()), os.path.expanduser("~")]
    for name in NOTEBOOKS:
        qmd = project / "chapters" / f"{name}.qmd"
        problems += check_notebook(output / f"{name}.ipynb", qmd, machine)
    return problems + handin.check_handin(output, project)


def default_project() -> Path:
    """$QUARTO_PROJECT_DIR, else ``.`` with report.qmd, else byhand's."""
    if os.environ.get("QUARTO_PROJECT_DIR"):
        return Path(os.environ["QUARTO_PROJECT_DIR"])
    if Path("report.qmd").is_file():
        return Path(".")
    return project_root()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m byhand.render.check",
        description="Check the rendered report and notebooks.",
    )
    parser.add_argument("output", type=Path, help="the render's output folder")
    parser.add_argument(
        "--project",
        type=Path,
        help="the project folder (holds report.qmd and chapters/; default: "
        "$QUARTO_PROJECT_DIR, this folder, else byhand's checkout)",
    )
    args = parser.parse_args(argv)
    problems = check(args.output, args.project or default_project())
    for p in problems:
        print(f"problem: {p}")
    pages = ""
    with contextlib.suppress(Exception):  # unreadable: reported above
        from pypdf import PdfReader

        n = len(PdfReader(args.output / "report.pdf").pages)
        pages = f", report.pdf has {n} pages"
    verdict = f"{len(problems)} problem(s)" if problems else "all passed"
    print(f"check_output: {verdict}{pages}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
