"""``python -m receipt_core …`` (see :mod:`receipt_core.cli.main`)."""

import signal
import sys

from .cli.errors import Terminated, stopped_by


def _interrupt(signum, frame):
    """SIGTERM (``kill PID``, ``timeout``) as Ctrl-C: the command stops its OCR workers and cleans up, where the
    default ended it at once and left the workers running with the output pipe open (a probe). ``train`` sets its
    own handler while a run trains (stop after the step, save). Said as SIGTERM (probe 59 read "interrupted")."""
    raise Terminated


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C as KeyboardInterrupt even when the parent left SIGINT ignored (a script's `cmd &`, a test runner's
    # worker), where Python installs no handler: `kill -INT` then did nothing (``train`` sets its own as it trains)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        from .cli.main import main
    except KeyboardInterrupt as stopped:  # Ctrl-C while the libraries load: one line, not their traceback (a probe)
        print(f"error: {stopped_by(stopped)}", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
