"""Options shared by the subcommands of the ``medlab`` command (:mod:`medlab.cli`).

Kept outside the ``medlab.cli`` package: a subcommand module importing a sibling would load
the package, which imports every subcommand (an import cycle).
"""

from __future__ import annotations

import argparse

import torch

from medlab.device import select_device


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def add_device_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """``--device`` (auto, cpu or cuda) and ``--threads`` for the models that ``what`` names."""
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help=f"where {what} run: auto (CUDA when it works, else the CPU), cpu or cuda "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="CPU threads for inference when running on the CPU (default: %(default)s)",
    )


def chosen_device(arguments: argparse.Namespace, input_error: type[Exception]) -> torch.device:
    """The device of ``--device`` / ``--threads``; ``input_error`` (the command's bad-input
    exception) when CUDA is asked for on a machine without a working CUDA."""
    try:
        return select_device(arguments.threads, arguments.device)
    except RuntimeError as error:
        raise input_error(f"--device cuda: {error}; use --device auto or cpu") from error
