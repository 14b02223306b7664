"""The PyInstaller entry script: the bundle's ``hoister`` is ``hoister.cli:main``."""

import sys

from hoister.cli import main

if __name__ == "__main__":
    sys.exit(main())
