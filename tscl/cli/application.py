"""The ``tscl`` application: the typer app the commands register on, and how its errors end."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tscl.cli import INTERRUPTED
from tscl.errors import TsclError


def _click_exceptions() -> tuple[tuple[type[Exception], ...], tuple[type[BaseException], ...]]:
    """Usage-error and abort types of click and of the click copy that typer >= 0.20 vendors.

    Whichever is installed (plain click need not be, since typer vendors its own) is caught.
    """
    errors: list[type[Exception]] = []
    aborts: list[type[BaseException]] = [typer.Abort]
    for name in ("click.exceptions", "typer._click.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "ClickException"):
            errors.append(module.ClickException)
        if hasattr(module, "Abort"):
            aborts.append(module.Abort)
    return tuple(errors), tuple(aborts)


_CLICK_ERRORS, _ABORTS = _click_exceptions()

app = typer.Typer(
    name="tscl",
    help="Self-supervised contrastive representation learning for multivariate time series.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _show_version(value: bool) -> None:
    if value:
        print(version_text())
        raise typer.Exit()


def version_text() -> str:
    """``tscl 0.1.0 (torch 2.13.0+cpu, python 3.11.7)``, without importing torch."""
    from importlib import metadata

    from tscl import __version__

    try:
        torch = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch = "not installed"
    return f"tscl {__version__} (torch {torch}, python {sys.version.split()[0]})"


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Self-supervised contrastive representation learning for multivariate time series."""


def _register() -> None:
    from tscl.cli import data_cmd  # noqa: F401  (commands register themselves on import)

    for module in ("pretrain_cmd", "evaluate_cmd", "runs_cmd", "sweep_cmd", "components_cmd"):
        try:
            __import__(f"tscl.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tscl.cli.{module}":
                raise


def fail(message: str, hint: str | None = None) -> None:
    """Print a one-line error (and an optional hint) on stderr and exit with code 1."""
    _print_error(message, hint)
    raise SystemExit(1)


def _print_error(message: str, hint: str | None) -> None:
    """``error: MESSAGE`` and ``hint: HINT`` on stderr, in one write.

    Under torchrun every process prints its own error to the same terminal: the lines name the rank (``error:
    [rank 1/2] ...``), and the error and its hint go out in one write, so that another rank's lines do not
    fall between them.
    """
    rank, world = os.environ.get("RANK"), os.environ.get("WORLD_SIZE", "1")
    where = f"[rank {rank}/{world}] " if rank is not None and world.isdigit() and int(world) > 1 else ""
    text = f"error: {where}{message}\n" + (f"hint: {hint}\n" if hint else "")
    sys.stderr.write(text)
    sys.stderr.flush()


def run(argv: list[str] | None = None) -> None:
    """Run the command line: no traceback escapes for expected errors or Ctrl-C (exit code 130)."""
    try:
        _register()
        command = typer.main.get_command(app)
        code = command.main(args=argv, prog_name="tscl", standalone_mode=False)
    except TsclError as exc:
        from tscl.runs.interrupt import Interrupted

        if isinstance(exc, Interrupted):
            _interrupted(exc.message, exc.hint)
        fail(exc.message, exc.hint)
    except _ABORTS:  # click turns Ctrl-C into Abort
        _interrupted()
    except _CLICK_ERRORS as exc:
        _usage_error(exc)
    except KeyboardInterrupt:
        _interrupted()
    if isinstance(code, int) and code == INTERRUPTED:  # typer turns Ctrl-C into Exit(130) and returns it
        _interrupted()
    if isinstance(code, int) and code != 0:
        raise SystemExit(code)


def _usage_error(exc: Exception) -> None:
    """Click's errors (unknown option, bad value, missing argument) as one ``error:`` line and a hint."""
    message = str(getattr(exc, "format_message", lambda: str(exc))())
    if type(exc).__name__ == "NoArgsIsHelpError":  # `tscl data` alone: the help, as --help shows it
        print(message)
        raise SystemExit(0)
    ctx = getattr(exc, "ctx", None)
    hint = f"see `{ctx.command_path} --help`" if ctx is not None else "run with --help to see the valid options"
    option = getattr(exc, "option_name", None)
    if option:  # a tscl 0.1 flag that became a setting: say how to write it now
        from tscl.config_migration import legacy_flag_hint

        hint = legacy_flag_hint(option) or hint
    hint = _runs_folder_hint(message, ctx) or hint
    fail(" ".join(message.split()), hint)


def _runs_folder_hint(message: str, ctx: Any) -> str | None:
    """``tscl runs FOLDER`` (a folder where a command is expected): how to list or compare the runs in it."""
    import re

    from tscl.text import shell

    found = re.match(r"No such command '(.+)'", message)
    if ctx is None or ctx.command_path != "tscl runs" or found is None:
        return None
    given = found.group(1)
    if "/" not in given and "\\" not in given and not Path(given).is_dir():
        return None  # a misspelt command: click's hint
    name = shell(given)
    return f"to list the runs in a folder: tscl runs --runs-dir {name}; to compare them: tscl runs compare {name}"


def _interrupted(message: str = "interrupted", hint: str | None = None) -> None:
    """Every long command stopped by a signal ends here: its message, how to continue, exit code 130."""
    _print_error(message, hint)
    raise SystemExit(INTERRUPTED)
