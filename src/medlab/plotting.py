"""One plotting style for every figure: matplotlib Agg, Okabe-Ito colour-blind-safe palette."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from medlab.io import atomic_path  # noqa: E402

# Okabe & Ito (2008), distinguishable under the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

plt.rcParams.update(
    {
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "font.size": 9,
        "legend.fontsize": 8,
        "legend.frameon": False,
    }
)


def save_figure(fig, path) -> None:
    """Save ``fig`` as PNG atomically and close it (tight layout unless it has a layout engine)."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def empty_figure(message: str, path) -> None:
    """A small placeholder figure stating why there is nothing to plot."""
    fig, ax = plt.subplots(figsize=(4, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    save_figure(fig, path)
