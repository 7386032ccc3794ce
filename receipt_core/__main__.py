"""``python -m receipt_core …`` (see :mod:`receipt_core.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
