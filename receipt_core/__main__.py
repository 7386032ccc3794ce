"""``python -m receipt_core …`` (see :mod:`receipt_core.cli.main`)."""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
