"""The ``tscl`` command line: commands parse options, call the library and render the result."""

from __future__ import annotations

import sys

import click
import typer

from tscl.errors import TsclError

app = typer.Typer(
    name="tscl",
    help="Self-supervised contrastive representation learning for multivariate time series.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    from tscl.cli import data_cmd  # noqa: F401  (commands register themselves on import)

    for module in ("pretrain_cmd", "evaluate_cmd", "runs_cmd", "sweep_cmd"):
        try:
            __import__(f"tscl.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tscl.cli.{module}":
                raise


def fail(message: str, hint: str | None = None) -> None:
    """Print a one-line error (and an optional hint) on stderr and exit with code 1."""
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: no traceback escapes for expected errors."""
    _register()
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="tscl", standalone_mode=False)
    except TsclError as exc:
        fail(exc.message, exc.hint)
    except click.exceptions.Abort:
        fail("interrupted")
    except click.ClickException as exc:
        hint = "run with --help to see the valid options"
        if getattr(exc, "ctx", None) is not None and exc.ctx is not None:
            hint = f"see `{exc.ctx.command_path} --help`"
        fail(exc.format_message(), hint)
    except KeyboardInterrupt:
        fail("interrupted")
