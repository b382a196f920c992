"""The ``medlab`` console command: use a finished pipeline run from the shell.

Each subcommand lives in its own module of this package with a ``register(subparsers)``
function that adds its parser and sets two defaults: ``handler``, a function of the parsed
arguments returning the exit code, and ``input_errors``, the library's exception classes
that mean the user's input is wrong (see :mod:`medlab.cli.predict` and :mod:`medlab.cli.ask`).
To add a command, write ``medlab/cli/<command>.py`` the same way::

    def register(subparsers) -> None:
        parser = subparsers.add_parser("<command>", help=..., description=...)
        parser.add_argument(...)
        parser.set_defaults(handler=run_command, input_errors=(SomeInputError,))

and list its ``register`` in :data:`SUBCOMMANDS`.

Bad input (a missing file, a run directory that is not a finished run, a bad option) ends
with exit code 2 and one line on stderr naming what is wrong; nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from medlab import __version__
from medlab.cli import ask, classify, predict

SUBCOMMANDS = (predict.register, ask.register, classify.register)
USAGE_ERROR = 2
# a file that cannot be read or written is the user's to fix, whatever the command
COMMON_INPUT_ERRORS = (OSError,)


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line pointing to --help, not the usage block.

    Subcommand parsers are made by the same class, so every parser behaves alike.
    """

    def error(self, message: str):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand in :data:`SUBCOMMANDS` registered."""
    parser = OneLineErrorParser(
        prog="medlab",
        description="Use the results of a finished medlab pipeline run. "
        "Run 'medlab <command> --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"medlab {__version__}")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="<command>")
    subparsers.required = True
    for register in SUBCOMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    0 on success (also for --help), 2 on bad arguments or bad input, with one line on stderr.
    """
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as stop:  # argparse exits for --help, --version and bad arguments
        return int(stop.code or 0)
    try:
        return arguments.handler(arguments)
    except (*arguments.input_errors, *COMMON_INPUT_ERRORS) as error:
        print(f"medlab {arguments.command}: error: {_one_line(error)}", file=sys.stderr)
        return USAGE_ERROR


def _one_line(error: Exception) -> str:
    """The error's message on one line (an OSError's str already names its file)."""
    return " ".join(str(error).split())
