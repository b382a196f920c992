"""Fixtures of the RAG tests."""

import pytest
import torch

from medlab.rag.extractive import ExtractiveReader


@pytest.fixture(scope="module")
def packaged_reader():
    """The packaged encoder with an untrained QA head: exercises decoding, not accuracy."""
    return ExtractiveReader.from_pretrained(
        "packaged:all-MiniLM-L6-v2", torch.device("cpu"), max_length=64, stride=16
    )
