import numpy as np
import pytest

from medlab.multilabel.evaluate import per_class_table


def _counted(labels, probs, threshold):
    # the confusion counts written out by hand, one label at a time
    predicted = probs >= threshold
    tp, fp = int((predicted & (labels == 1)).sum()), int((predicted & (labels == 0)).sum())
    fn, tn = int((~predicted & (labels == 1)).sum()), int((~predicted & (labels == 0)).sum())
    return tp, fp, fn, tn


@pytest.mark.parametrize("seed", range(3))
def test_per_class_confusion_counts_and_f1(seed):
    rng = np.random.default_rng(seed)
    labels = (rng.random((40, 4)) < [0.5, 0.2, 0.05, 0.0]).astype(int)
    probs = np.round(rng.random((40, 4)), 1)
    tuned = np.array([0.3, 0.5, 0.7, 0.5])
    table = per_class_table(labels, probs, tuned, ["a", "b", "c", "d"])
    for j, row in table.iterrows():
        for name, threshold in (("0.5", 0.5), ("tuned", tuned[j])):
            tp, fp, fn, tn = _counted(labels[:, j], probs[:, j], threshold)
            assert (row[f"tp_{name}"], row[f"fp_{name}"], row[f"fn_{name}"], row[f"tn_{name}"]) == (
                tp,
                fp,
                fn,
                tn,
            )
            if tp + fp + fn:
                assert row[f"f1_{name}"] == 2 * tp / (2 * tp + fp + fn)
            else:
                assert np.isnan(row[f"f1_{name}"])
    assert table["test_positives"].tolist() == labels.sum(0).tolist()
    assert np.isnan(table.loc[3, "roc_auc"])
