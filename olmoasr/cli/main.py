"""The `olmoasr` command: discovers command modules in this package and runs them with one-line errors."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import typer

try:  # typer >= 0.20 vendors click as typer._click; older typer uses click itself
    from typer._click import exceptions as click
except ImportError:  # pragma: no cover
    from click import exceptions as click

import olmoasr
from olmoasr.errors import OlmoasrError

HELP = (
    "olmoasr: raw web audio + transcripts -> filtered training data -> trained, evaluated ASR models.\n\n"
    "Every data stage reads and writes the same JSONL records, skips finished shards on re-run, and "
    "reports bad inputs as one line each; its input and output may be local folders or object-storage URLs "
    "(s3://bucket/path, with the `cloud` extra installed). Run `olmoasr COMMAND --help` for a runnable example."
)


# Help is click's plain layout: option names are never cut, `[extra]` is text (not markup), `\b` keeps an
# example block as written, flags show no value placeholder, and it uses up to HELP_WIDTH columns.
HELP_MARKUP = None
HELP_WIDTH = 120


def _version(value: bool) -> None:
    if value:
        print(f"olmoasr {olmoasr.__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="olmoasr",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=HELP_MARKUP,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": HELP_WIDTH},
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    ) -> None:
        """olmoasr command line."""

    modules = []
    package = importlib.import_module("olmoasr.cli")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name == "main":
            continue
        module = importlib.import_module(f"olmoasr.cli.{info.name}")
        if hasattr(module, "register"):
            modules.append(module)
    for module in sorted(modules, key=lambda m: getattr(m, "ORDER", 100)):
        module.register(app)
    return app


def run(argv: list[str] | None = None) -> int:
    """Entry point: one line on stderr and a non-zero exit for every error a user can cause."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app = build_app()
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="olmoasr", standalone_mode=False)
    except click.NoArgsIsHelpError:
        return 0  # the help text was already printed
    except click.UsageError as err:
        hint = f" (see `{err.ctx.command_path} --help`)" if err.ctx else ""
        print(f"error: {err.format_message()}{hint}", file=sys.stderr)
        return 2
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except typer.Exit as err:
        return err.exit_code
    except OlmoasrError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        from olmoasr.io.storage import storage_error_message

        message = storage_error_message(err)
        if message is None and isinstance(err, OSError) and err.filename:
            # a file-system refusal we did not foresee (a folder where a file belongs, a full disk ...)
            message = f"{err.filename}: {err.strerror or type(err).__name__}"
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
