"""Cross-key checks of the multi-label keys: one line naming the key and what to do."""

from pathlib import Path

import pytest
import yaml

from medlab.config import ConfigError, check_config, multilabel_cell_names


@pytest.fixture
def config():
    return yaml.safe_load(Path("config.yaml").read_text())


def test_cell_names_are_the_run_directories():
    grid = {"batch_size": [16], "lr": [5e-05, 1e-4], "loss": ["bce"], "seed": [0]}
    assert multilabel_cell_names(grid) == ["bs16_lr5e-05_bce_seed0", "bs16_lr0.0001_bce_seed0"]


def test_default_config_passes(config):
    check_config(config)


def test_the_baseline_may_join_the_ensemble_only_when_enabled(config):
    config["multilabel"]["ensemble"] = ["bs16_lr5e-05_bce_seed0", "tfidf"]
    check_config(config)
    config["multilabel"]["baseline"]["enabled"] = False
    with pytest.raises(ConfigError, match=r"multilabel.ensemble\[1\]: 'tfidf' is not a cell"):
        check_config(config)


@pytest.mark.parametrize(
    "settings,expected",
    [
        (
            {"ensemble": ["bs16_lr5e-05_bce_seed0", "bs64_lr5e-05_bce_seed0"]},
            "config key multilabel.ensemble[1]: 'bs64_lr5e-05_bce_seed0' is not a cell of "
            "multilabel.grid (nor 'tfidf' with multilabel.baseline.enabled); the cells are "
            "bs16_lr5e-05_bce_seed0,",
        ),
        (
            {"windows": {"enabled": True, "length": 64, "stride": 63, "pool": "max"}},
            "config key multilabel.windows.stride: 63 would skip tokens between windows of 64 "
            "tokens; use at most 62",
        ),
        (
            {
                "dataset": "hoc",
                "unit": "sentence",
                "windows": {"enabled": True, "length": 64, "stride": 32, "pool": "max"},
            },
            "config key multilabel.windows.enabled: token windows split whole documents; set "
            "multilabel.unit to document (it is 'sentence')",
        ),
    ],
)
def test_cross_key_errors_name_the_key(config, settings, expected):
    config["multilabel"].update(settings)
    with pytest.raises(ConfigError) as error:
        check_config(config)
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)
