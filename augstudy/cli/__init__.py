"""The ``augstudy`` command line: a root group whose sub-commands load lazily.

Each sub-command lives in its own module (``augstudy/cli/<name>.py``) and is
imported only when invoked or listed, so ``augstudy --help`` never imports torch.
Errors the user can fix (:class:`augstudy.errors.UserError`, click's own usage
errors) print one line and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
import threading

import click

from augstudy import __version__
from augstudy.errors import InterruptedByUser, UserError

# name -> "module:attribute"; the module is imported only when the command is used.
LAZY_COMMANDS: dict[str, str] = {
    "data": "augstudy.cli.data:data_group",
    "model": "augstudy.cli.model:model_group",
    "policy": "augstudy.cli.policy:policy_group",
    "preview": "augstudy.cli.preview:preview_command",
    "measure": "augstudy.cli.measure:measure_command",
    "ablate": "augstudy.cli.ablate:ablate_command",
    "report": "augstudy.cli.report:report_command",
    "plan": "augstudy.cli.plan:plan_command",
}


class OneLineError(click.ClickException):
    """A user error shown as exactly one line on stderr: ``error: <message>``."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


class LazyGroup(click.Group):
    """A click group that imports each sub-command's module on first use and turns
    user errors into one line (tracebacks only with ``--debug``)."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS:
            module_name, attr = LAZY_COMMANDS[name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        previous = _handle_interrupts()
        try:
            try:
                rc = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            except click.exceptions.Exit as exc:
                sys.exit(exc.exit_code)
            except click.exceptions.Abort:
                click.echo("error: aborted", err=True)
                sys.exit(130)
            except click.ClickException as exc:
                if isinstance(exc, OneLineError):
                    exc.show()
                else:
                    hint = ""
                    if isinstance(exc, click.UsageError) and exc.ctx is not None:
                        hint = f" (see '{exc.ctx.command_path} --help')"
                    click.echo(f"error: {exc.format_message()}{hint}", err=True)
                sys.exit(exc.exit_code)
            # With standalone_mode=False click returns ctx.exit(n)'s code instead of exiting.
            sys.exit(rc if isinstance(rc, int) else 0)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except UserError as exc:
            if _debug_requested(sys.argv) or (ctx.obj or {}).get("debug"):
                raise
            raise OneLineError(str(exc), exc.exit_code) from None
        except KeyboardInterrupt as exc:
            if _debug_requested(sys.argv) or (ctx.obj or {}).get("debug"):
                raise
            name = exc.signal_name if isinstance(exc, InterruptedByUser) else "SIGINT"
            code = 128 + (signal.SIGTERM if name == "SIGTERM" else signal.SIGINT)
            raise OneLineError(f"interrupted ({name}); finished work is kept, rerun the same command to resume",
                               code) from None
        except Exception as exc:  # noqa: BLE001 - last-resort one-liner, --debug shows the rest
            if _debug_requested(sys.argv) or (ctx.obj or {}).get("debug"):
                raise
            raise OneLineError(_last_resort_message(exc), 1) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="augstudy")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors (default: one-line errors).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """augstudy: which augmentation or regularizer actually helps my CNN, and by how much?

    \b
    Typical session:
      augstudy data check            # is the dataset sane?
      augstudy preview --policy light
      augstudy measure --policy light
      augstudy ablate dropout        # paired-seed ablation, ranked effect table
      augstudy report reports/dropout-fashion-mnist-mini
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug or bool(os.environ.get("AUGSTUDY_DEBUG"))


def _last_resort_message(exc: Exception) -> str:
    """One line for an exception no command turned into a UserError: the file it concerns when
    the OS names one, else the exception's type and text."""
    if isinstance(exc, OSError) and exc.filename:
        where = exc.filename
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return (f"{where}: {exc.strerror or 'permission denied'}; make it writable (or readable) by you, "
                    f"or choose another place with --out (rerun with --debug for the traceback)")
        return f"{where}: {exc.strerror or exc} (rerun with --debug for the traceback)"
    return f"{type(exc).__name__}: {exc} (rerun with --debug for the traceback)"


#: signal -> the handler Python (or the OS) has by default: only those are replaced
_DEFAULT_HANDLERS = {signal.SIGTERM: (signal.SIG_DFL, None), signal.SIGINT: (signal.default_int_handler,)}


def _raise_interrupted(signum, frame) -> None:
    """SIGINT (Ctrl-C) and SIGTERM handler: the first one raises :class:`InterruptedByUser` in the
    main thread, so the cleanup runs (claims released, files exported); every later SIGINT or
    SIGTERM is ignored while that cleanup finishes, so a second Ctrl-C cannot break it into a
    traceback (``kill -9`` still ends the process at once)."""
    for handled in _DEFAULT_HANDLERS:
        signal.signal(handled, signal.SIG_IGN)
    raise InterruptedByUser("SIGTERM" if signum == signal.SIGTERM else "SIGINT")


def _handle_interrupts() -> dict:
    """Install :func:`_raise_interrupted` for SIGINT and SIGTERM (main thread; a signal whose
    handler is not the default is left to whoever set it: a test runner, an embedding program);
    returns ``{signal: handler}`` to restore afterwards."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for signum, defaults in _DEFAULT_HANDLERS.items():
        handler = signal.getsignal(signum)
        if handler in defaults:
            previous[signum] = handler
            signal.signal(signum, _raise_interrupted)
    return previous


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or bool(os.environ.get("AUGSTUDY_DEBUG"))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point.  After an interrupt the process only exits: SIGINT and SIGTERM
    stay ignored, so another Ctrl-C cannot break the interpreter's own shutdown into a traceback."""
    try:
        cli.main(args=argv, prog_name="augstudy")
    except SystemExit as exc:
        if exc.code in (128 + signal.SIGINT, 128 + signal.SIGTERM):
            for signum in _DEFAULT_HANDLERS:
                signal.signal(signum, signal.SIG_IGN)
        raise


__all__ = ["cli", "main", "LAZY_COMMANDS", "OneLineError"]
