"""Layer and head settings checked against an attention model's shape.

The Snakefile checks packaged and local models before any job (via medlab.config); a job
that loads a hub model checks the loaded model's shape itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from medlab.errors import ConfigError
from medlab.pretrained import resolve_model


def model_shape(model: str) -> tuple[int, int] | None:
    """(layers, heads per layer) of a packaged or local model from its config.json; None for a hub id.

    Reads no weights. BERT-family config.json files name both numbers directly; only other
    families fall back to ``transformers.AutoConfig``, whose import costs seconds at every
    Snakemake start.
    """
    directory = Path(resolve_model(model))
    config_file = directory / "config.json"
    if not config_file.is_file():
        return None
    try:
        settings = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(
            f"{config_file}: not readable as JSON ({error}); the model directory is damaged"
        ) from error
    if "num_hidden_layers" in settings and "num_attention_heads" in settings:
        return int(settings["num_hidden_layers"]), int(settings["num_attention_heads"])
    from transformers import AutoConfig  # heavy import, only for non-BERT config.json files

    auto = AutoConfig.from_pretrained(directory, local_files_only=True)
    return int(auto.num_hidden_layers), int(auto.num_attention_heads)


def check_attention_ranges(
    model_key: str,
    layers: int,
    heads: int,
    *,
    heatmap_layer: int | None = None,
    disabled_heads: list[list[int]] = (),
    heads_per_layer: list[int] = (),
) -> None:
    """Raise ConfigError naming every attention setting a ``layers`` x ``heads`` model lacks.

    ``model_key`` is the model's name under ``attention.models``. The settings are
    ``attention.heatmap_layer``, ``attention.disabled_heads.heads`` ([layer, head], 0-based)
    and ``attention.cost.heads_per_layer``; a job that loads a hub model calls this with
    the loaded model's shape and the settings it received.
    """
    errors = []
    shape = f"attention.models.{model_key} has {layers} layers of {heads} heads"
    if heatmap_layer is not None and heatmap_layer >= layers:
        errors.append(
            f"config key attention.heatmap_layer: {heatmap_layer} does not exist; "
            f"{shape} (layers 0..{layers - 1})"
        )
    for index, (layer, head) in enumerate(disabled_heads):
        if layer >= layers or head >= heads:
            errors.append(
                f"config key attention.disabled_heads.heads[{index}]: [{layer}, {head}] does not "
                f"exist; {shape} (0-based [layer, head])"
            )
    for index, count in enumerate(heads_per_layer):
        if count > heads:
            errors.append(
                f"config key attention.cost.heads_per_layer[{index}]: {count} is more than the "
                f"{heads} heads per layer of attention.models.{model_key}"
            )
    if errors:
        raise ConfigError("; ".join(errors))
