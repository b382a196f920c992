"""SQuAD-style answer metrics."""

import pytest

from medlab.rag.answers import (
    answer_length,
    contains_answer,
    exact_match,
    normalize_answer,
    token_f1,
)


def test_squad_answer_metrics():
    assert normalize_answer("The  Immune-System!") == "immunesystem"
    assert exact_match("the immune system", ["Immune system"]) == 1.0
    assert token_f1("immune system cells", ["the immune system"]) == pytest.approx(0.8)
    assert token_f1("", ["x"]) == 0.0
    assert contains_answer("it is blood glucose levels", ["blood glucose"]) == 1.0
    assert contains_answer("AI", ["artificial intelligence"]) == 0.0
    assert answer_length("three bedside criteria") == 3
