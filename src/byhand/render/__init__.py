"""The render's own steps: Quarto's pre-render (``pre``) and post-render
(``notebooks``, then the ``handin`` zip), and the output ``check``
(``python -m byhand.render.check _output``).
"""

from pathlib import Path

# The chapters that become the deliverable notebooks, in order.
NOTEBOOKS = ("backpropagation", "gradient_descent")
# Written by the pre-render step: the post-render step takes only
# executed notebooks newer than this render's start.
STAMP = Path(".quarto") / "byhand-render-start"
# What Quarto numbers, by label prefix.
KIND = {"fig": "Figure", "tbl": "Table"}
# A Quarto cross-reference in Markdown: @fig-x, @tbl-x or @eq-x.
XREF = r"(?<![\w@])@((?:fig|tbl|eq)-[\w-]*\w)"
