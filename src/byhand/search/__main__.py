"""``python -m byhand.search``: the command line of tasks 8-10."""

from byhand.search.cli import main

raise SystemExit(main())
