"""Allows ``python -m hoister``."""

from hoister.cli import main

raise SystemExit(main())
