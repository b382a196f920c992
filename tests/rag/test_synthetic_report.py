"""The report's view of the synthetic stage: counts per kind, the sample, the stage column."""

import json

import pandas as pd

from medlab.report.sections import epochs_caption, synthetic_blocks


def test_synthetic_blocks_show_counts_and_sample(tmp_path):
    stats = {
        "questions": 3,
        "made": 5,
        "per_kind": {"number": 1, "acronym": 0, "entity": 1, "clause": 1},
        "duplicates": 2,
        "passages_read": 4,
        "train_documents": 2,
    }
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    sample = pd.DataFrame(
        [{"kind": "number", "question": "How many days?", "answer": "5 days", "document": "d1"}]
    )
    sample.to_csv(tmp_path / "sample.tsv", sep="\t", index=False)
    counts, shown = synthetic_blocks(tmp_path / "stats.json", tmp_path / "sample.tsv")
    assert "acronym questions" in counts["html"] and "training documents" in counts["html"]
    assert "How many days?" in shown["html"] and "5 days" in shown["html"]
    assert "training documents only" in counts["caption"]


def test_epoch_caption_names_the_stages_only_when_there_are_two():
    two = pd.DataFrame({"epoch": [1, 2], "stage": ["synthetic", "gold"], "train_loss": [1, 0.5]})
    assert "synthetic questions first" in epochs_caption(two)
    gold = two.assign(stage="gold")
    assert "stage" not in epochs_caption(gold)
