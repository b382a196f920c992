import os
import subprocess
import sys

import pandas as pd
import pytest

from medlab.multilabel.data import label_matrix


def test_label_matrix_follows_the_label_set_order():
    table = pd.DataFrame({"id": ["x", "y", "z"], "labels": [["b"], ["a", "c"], []]})
    matrix = label_matrix(table, ["c", "b", "a"])
    assert matrix.tolist() == [[0, 1, 0], [1, 0, 1], [0, 0, 0]]
    assert matrix.dtype == "int64"


def test_label_matrix_names_the_row_with_an_unknown_label():
    table = pd.DataFrame({"id": ["x", "y"], "labels": [["a"], ["a", "ghost"]]})
    with pytest.raises(ValueError, match=r"row 1 \(id 'y'\): labels \['ghost'\]"):
        label_matrix(table, ["a", "b"])


def test_synthetic_notes_do_not_depend_on_string_hashing():
    """Same seed, different PYTHONHASHSEED (a new process each): identical notes."""
    code = (
        "import hashlib; from medlab.multilabel.synthetic import generate_notes; "
        "print(hashlib.sha256(generate_notes(300, 0).to_csv().encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
        ).stdout
        for hash_seed in (1, 2, 3)
    }
    assert len(digests) == 1
