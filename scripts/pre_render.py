"""Quarto's pre-render step (``byhand.render.pre``)."""

from byhand.render.pre import main

main()
