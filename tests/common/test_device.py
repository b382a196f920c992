"""Run-time device choice: CUDA only when it works, else the CPU with the requested threads."""

import pytest
import torch

from medlab.device import describe_device, select_device


@pytest.fixture
def no_cuda(monkeypatch):
    """A machine where CUDA is not usable (also on a GPU machine)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_auto_falls_back_to_the_cpu_with_the_thread_count(no_cuda, restore_threads):
    assert select_device(threads=2) == torch.device("cpu")
    assert torch.get_num_threads() == 2
    assert select_device(threads=0, prefer="auto").type == "cpu"
    assert torch.get_num_threads() == 1  # at least one thread


def test_cpu_is_used_when_asked_for_even_with_cuda(monkeypatch, restore_threads):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device(threads=1, prefer="cpu") == torch.device("cpu")


def test_cuda_requested_without_cuda_is_an_error(no_cuda):
    with pytest.raises(RuntimeError, match="'cuda' was requested"):
        select_device(prefer="cuda")


def test_unknown_device_is_named():
    with pytest.raises(ValueError, match="'tpu'"):
        select_device(prefer="tpu")


def test_describe_device_without_cuda(no_cuda):
    assert describe_device() == "CPU"
