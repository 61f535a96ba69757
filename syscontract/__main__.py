"""``python -m syscontract``: the command line."""

from syscontract.cli import main

raise SystemExit(main())
