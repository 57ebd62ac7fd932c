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


class UnwritableError(UserError):
    """A folder or file the command must write cannot be written (permissions, read-only
    file system); the message names the folder and the fix."""


class InterruptedByUser(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM: cleanup paths that handle KeyboardInterrupt run for both.
    ``signal_name`` says which one arrived."""

    def __init__(self, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name
