import pandas as pd

from medlab.multilabel.synthetic import generate_notes
from medlab.sampling import seeded_rows


def test_seeded_rows_are_seeded_bounded_and_optional():
    table = generate_notes(200, seed=0, healthy_rate=0.9)
    sample = seeded_rows(table, 50, seed=3)
    assert len(sample) == 50 and sample["id"].is_unique
    assert sample.equals(seeded_rows(table, 50, seed=3))
    assert not sample.equals(seeded_rows(table, 50, seed=4))
    assert seeded_rows(table, None, seed=3) is table
    assert seeded_rows(table, 200, seed=3) is table
    assert seeded_rows(table, 500, seed=3) is table


def test_seeded_rows_keep_the_frames_order_and_index():
    # an index that is neither 0..n-1 nor sorted: rows of a source file after a shuffle
    frame = pd.DataFrame({"value": range(30)}, index=[(7 * i) % 30 + 100 for i in range(30)])
    sample = seeded_rows(frame, 10, seed=1)
    assert sample["value"].is_monotonic_increasing  # the frame's order, not the index's
    assert (frame.loc[sample.index, "value"] == sample["value"]).all()


def test_seeded_rows_draw_as_pandas_sample_does():
    """The draw of ``DataFrame.sample`` (``gnn.max_molecules`` drew with it), so samples
    taken before the helper was shared are the same rows."""
    frame = pd.DataFrame({"value": range(97)})
    expected = frame.sample(n=40, random_state=5).sort_index()
    assert seeded_rows(frame, 40, seed=5).equals(expected)
