"""Quarto's post-render step (``byhand.render.notebooks``)."""

from byhand.render.notebooks import main

main()
