"""Statistics and figures of the attention experiment.

Tests pair each condition with the original on the same sentences (Wilcoxon signed-rank,
per-sentence means so that observations are independent), with the matched-pairs
rank-biserial correlation as effect size and Benjamini-Hochberg adjusted p-values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from medlab.plotting import PALETTE

METRICS = {"entropy": "attention entropy (nats)", "distance": "mean attention distance (tokens)"}


def rank_biserial(differences: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation: (sum of positive ranks - negative) / total, in [-1, 1]."""
    nonzero = differences[differences != 0]
    if len(nonzero) == 0:
        return 0.0
    ranks = stats.rankdata(np.abs(nonzero))
    return float((ranks[nonzero > 0].sum() - ranks[nonzero < 0].sum()) / ranks.sum())


def per_sentence(heads: pd.DataFrame, by_layer: bool) -> pd.DataFrame:
    keys = ["condition", "sentence"] + (["layer"] if by_layer else [])
    return heads.groupby(keys, as_index=False)[list(METRICS)].mean()


def paired_tests(heads: pd.DataFrame, reference: str = "original") -> pd.DataFrame:
    """One row per condition x metric x scope (all layers, then each layer): means, median
    difference, Wilcoxon statistic, p-value, BH-adjusted p-value, rank-biserial effect size.

    ``heads`` is the tidy table of all conditions (column ``condition``).
    """
    rows = []
    for by_layer in (False, True):
        table = per_sentence(heads, by_layer)
        base = table[table.condition == reference]
        for name in [c for c in table.condition.unique() if c != reference]:
            other = table[table.condition == name]
            keys = ["sentence"] + (["layer"] if by_layer else [])
            merged = base.merge(other, on=keys, suffixes=("_ref", ""))
            groups = merged.groupby("layer") if by_layer else [("all", merged)]
            for layer, part in groups:
                for metric in METRICS:
                    diff = (part[metric] - part[f"{metric}_ref"]).to_numpy()
                    if np.allclose(diff, 0):
                        statistic, p_value = float("nan"), 1.0
                    else:
                        result = stats.wilcoxon(part[metric], part[f"{metric}_ref"])
                        statistic, p_value = float(result.statistic), float(result.pvalue)
                    rows.append(
                        {
                            "condition": name,
                            "metric": metric,
                            "layer": layer if by_layer else "all",
                            "n_sentences": len(part),
                            "mean_original": part[f"{metric}_ref"].mean(),
                            "mean_condition": part[metric].mean(),
                            "median_difference": float(np.median(diff)),
                            "wilcoxon_W": statistic,
                            "p_value": p_value,
                            "rank_biserial": rank_biserial(diff),
                        }
                    )
    frame = pd.DataFrame(rows)
    frame["p_adjusted_bh"] = (
        stats.false_discovery_control(frame["p_value"].to_numpy()) if len(frame) else []
    )
    return frame


def condition_summary(heads: pd.DataFrame, hidden: pd.DataFrame) -> pd.DataFrame:
    """Mean and range of per-sentence entropy and distance per condition, and the last
    layer's mean hidden-state change."""
    sentence_means = per_sentence(heads, by_layer=False)
    summary = sentence_means.groupby("condition", sort=False).agg(
        entropy_mean=("entropy", "mean"),
        entropy_min=("entropy", "min"),
        entropy_max=("entropy", "max"),
        distance_mean=("distance", "mean"),
        distance_min=("distance", "min"),
        distance_max=("distance", "max"),
    )
    last = (
        hidden[hidden.layer == hidden.layer.max()]
        .groupby("condition", sort=False)[["cosine_change", "relative_l2"]]
        .mean()
    )
    return summary.join(last.add_prefix("last_layer_")).reset_index()


# Size (width, height in inches) of one model's row in each figure
DISTRIBUTIONS_SIZE = (11, 3.6)
HIDDEN_CHANGE_SIZE = (10, 3.4)
PRUNING_SIZE = (5.5, 3.6)
COST_SIZE = (11, 3.2)


def heatmaps_size(conditions: int, sentences: int) -> tuple[float, float]:
    return 3.4 * sentences + 1, 3.2 * conditions


def draw_distributions(figure, heads: pd.DataFrame, conditions: list[str]) -> None:
    """Per-sentence entropy and distance per layer, one box per condition.

    ``figure``: a matplotlib Figure or SubFigure to draw into.
    """
    table = per_sentence(heads, by_layer=True)
    layers = sorted(table.layer.unique())
    axes = figure.subplots(1, 2)
    width = 0.8 / len(conditions)
    for ax, (metric, label) in zip(axes, METRICS.items()):
        for index, name in enumerate(conditions):
            data = [
                table[(table.condition == name) & (table.layer == layer)][metric]
                for layer in layers
            ]
            positions = np.array(layers) + (index - (len(conditions) - 1) / 2) * width
            boxes = ax.boxplot(
                data, positions=positions, widths=width * 0.9, patch_artist=True, showfliers=False
            )
            for box in boxes["boxes"]:
                box.set(facecolor=PALETTE[index % len(PALETTE)], alpha=0.75)
            ax.plot([], [], color=PALETTE[index % len(PALETTE)], lw=6, label=name)
        ax.set_xticks(layers, [str(layer) for layer in layers])
        ax.set(xlabel="layer", ylabel=label)
    axes[0].legend(loc="upper left", ncol=2)


def draw_hidden_change(figure, hidden: pd.DataFrame, conditions: list[str]) -> None:
    """Mean 1 - cosine and relative L2 change of hidden states per layer (0 = embeddings)."""
    axes = figure.subplots(1, 2)
    for index, name in enumerate(c for c in conditions if c != "original"):
        part = (
            hidden[hidden.condition == name]
            .groupby("layer")[["cosine_change", "relative_l2"]]
            .mean()
        )
        colour = PALETTE[(index + 1) % len(PALETTE)]
        axes[0].plot(part.index, part.cosine_change, marker="o", color=colour, label=name)
        axes[1].plot(part.index, part.relative_l2, marker="o", color=colour, label=name)
    axes[0].set(xlabel="layer (0 = embeddings)", ylabel="1 − cosine vs original")
    axes[1].set(xlabel="layer (0 = embeddings)", ylabel="relative L2 change")
    axes[0].legend()


def draw_heatmaps(
    figure, maps: dict[str, dict], tokens: dict[int, list[str]], conditions: list[str], layer: int
) -> None:
    """Head-averaged attention of ``layer`` for selected sentences (columns) x conditions (rows),
    all on one colour scale. ``maps[condition][sentence]``: (layers, heads, t, t) arrays."""
    sentences = sorted(tokens)
    averaged = {(c, s): maps[c][s][layer].mean(0) for c in conditions for s in sentences}
    vmax = max(float(a.max()) for a in averaged.values())
    axes = figure.subplots(len(conditions), len(sentences), squeeze=False)
    image = None
    for row, name in enumerate(conditions):
        for col, sentence in enumerate(sentences):
            ax = axes[row, col]
            image = ax.imshow(averaged[(name, sentence)], cmap="viridis", vmin=0, vmax=vmax)
            labels = tokens[sentence]
            step = max(1, len(labels) // 16)
            ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=90, fontsize=6)
            ax.set_yticks(range(0, len(labels), step), labels[::step], fontsize=6)
            ax.grid(False)
            if row == 0:
                ax.set_title(f"sentence {sentence}", fontsize=8)
            if col == 0:
                ax.set_ylabel(f"{name}\nquery token", fontsize=8)
            if row == len(conditions) - 1:
                ax.set_xlabel("key token", fontsize=8)
    figure.colorbar(
        image,
        ax=axes.ravel().tolist(),
        shrink=0.6,
        label=f"attention weight (layer {layer}, mean over heads)",
    )


def draw_pruning(figure, curves: pd.DataFrame, threshold: float) -> None:
    """Quality retained vs fraction of heads pruned, one line per layer band."""
    ax = figure.subplots()
    for index, (band, part) in enumerate(curves.groupby("band", sort=False)):
        ax.plot(
            part.fraction * 100,
            part.quality,
            marker="o",
            color=PALETTE[index % len(PALETTE)],
            label=f"{band} ({part.layers.iloc[0]})",
        )
    ax.axhline(threshold, color="grey", ls=":", lw=0.9, label=f"threshold {threshold}")
    ax.set(
        xlabel="heads pruned in band (%, least important first)",
        ylabel="quality retained (cosine to unpruned)",
    )
    ax.legend(fontsize=7)


def draw_cost(figure, cost: pd.DataFrame) -> None:
    """Latency, attention parameters and peak memory vs heads per layer."""
    cost = cost.sort_values("heads_per_layer")
    axes = figure.subplots(1, 3)
    axes[0].plot(cost.heads_per_layer, cost.latency_ms_median, marker="o")
    axes[0].set(xlabel="heads per layer", ylabel="latency per batch (ms, median)")
    axes[1].plot(
        cost.heads_per_layer, cost.attention_parameters / 1e6, marker="o", color=PALETTE[1]
    )
    axes[1].set(xlabel="heads per layer", ylabel="attention parameters (millions)")
    axes[2].plot(cost.heads_per_layer, cost.max_rss_mb, marker="o", color=PALETTE[2])
    axes[2].set(xlabel="heads per layer", ylabel="peak memory of the job (MB, max RSS)")
