"""The shared plotting style: figures saved as PNG atomically and closed."""

from medlab.plotting import PALETTE, empty_figure, plt, save_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_save_figure_writes_a_png_and_closes_the_figure(tmp_path):
    plt.close("all")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / "line.png")
    assert (tmp_path / "line.png").read_bytes().startswith(PNG_SIGNATURE)
    assert plt.get_fignums() == []
    assert [p.name for p in tmp_path.iterdir()] == ["line.png"]  # no temporary file left


def test_empty_figure_is_a_png(tmp_path):
    empty_figure("nothing to plot: no runs", tmp_path / "empty.png")
    assert (tmp_path / "empty.png").read_bytes().startswith(PNG_SIGNATURE)


def test_palette_is_the_style_cycle_of_distinct_colours():
    assert len(set(PALETTE)) == len(PALETTE) == 8
    assert plt.rcParams["axes.prop_cycle"].by_key()["color"] == PALETTE
