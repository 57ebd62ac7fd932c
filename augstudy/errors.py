"""User-facing errors.

A :class:`UserError` is bad input the user can fix (a missing path, a wrong
layout, a bad option value).  The CLI prints it as one line, ``error: <message>``,
and exits with ``exit_code``; the traceback is shown only under ``--debug``.
Messages name the thing (file, field) and the fix.
"""


class UserError(Exception):
    """An error caused by user input; printed as one line, no traceback."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


class MissingDependencyError(UserError):
    """An optional dependency is not installed; the message says how to install it."""
