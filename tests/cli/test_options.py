"""Options shared by the `medlab` subcommands, and each subcommand's parser."""

import argparse

import pytest
import torch

from medlab.cli import ask, classify, predict
from medlab.cli_options import add_device_arguments, chosen_device, positive_int


class BadInput(ValueError):
    pass


def test_positive_int_accepts_whole_numbers_of_at_least_one():
    assert positive_int("3") == 3
    for text in ("0", "-2", "two", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError, match="at least 1"):
            positive_int(text)


def test_device_options_parse_and_choose_the_cpu():
    parser = argparse.ArgumentParser()
    add_device_arguments(parser, "the models")
    arguments = parser.parse_args(["--device", "cpu", "--threads", "2"])
    assert chosen_device(arguments, BadInput) == torch.device("cpu")
    with pytest.raises(SystemExit):
        parser.parse_args(["--device", "tpu"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="the error is for machines without CUDA")
def test_cuda_without_cuda_is_the_commands_bad_input():
    parser = argparse.ArgumentParser()
    add_device_arguments(parser, "the models")
    with pytest.raises(BadInput, match="--device cuda"):
        chosen_device(parser.parse_args(["--device", "cuda"]), BadInput)


@pytest.mark.parametrize(
    "module, name, options",
    [
        (predict, "predict", ("--run", "--smiles-column", "--device")),
        (ask, "ask", ("--corpus", "--method", "--json")),
        (classify, "classify", ("--run", "--text-column", "--device")),
    ],
)
def test_each_subcommand_registers_its_options(module, name, options):
    parser = argparse.ArgumentParser()
    module.register(parser.add_subparsers(dest="command"))
    help_text = parser._subparsers._group_actions[0].choices[name].format_help()
    assert all(option in help_text for option in options), help_text
