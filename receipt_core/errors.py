"""Which failures the user can fix (bad input, a missing file, a busy slot) and which are bugs.

The CLI exits 2 for the first and 1 for the second; the dashboard logs the first as one line and the second with
its traceback. Both show the user one line either way.
"""

from __future__ import annotations


def is_user_error(error: BaseException) -> bool:
    """Errors caused by the input or the environment (fixable by the user), as opposed to bugs.

    Besides ValueError and OSError, that is this package's own error classes (WorkspaceError,
    TesseractNotFoundError, NotFoundError, the CLI's CommandError …), whatever they derive from.
    """
    if isinstance(error, (ValueError, OSError)) or is_library_panic(error):
        return True
    return type(error).__module__.startswith("receipt_core.")


def is_library_panic(error: BaseException) -> bool:
    """A compiled library's panic raised into Python: the tokenizers package's ``pyo3_runtime.PanicException``,
    which derives from BaseException, so ``except Exception`` let it through (a probe's checkpoint whose tokenizer
    normalizer held a runaway regex stopped the Predict page's script with nothing said, and printed a traceback
    from the CLI). It comes from its input (a hostile or broken tokenizer file), so it counts as a user error."""
    return type(error).__name__ == "PanicException" and type(error).__module__ == "pyo3_runtime"
