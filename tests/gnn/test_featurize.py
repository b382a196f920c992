import pandas as pd
import pytest
import torch

from medlab.gnn.featurize import (
    ATOM_DIM,
    BOND_DIM,
    MoleculeGraphs,
    TableSpec,
    featurize_table,
    mol_to_graph,
    read_molecule_table,
    save_graphs,
)
from medlab.sampling import seeded_rows

SPEC = TableSpec("smiles", "p_np", "1", "0")


def _table(rows):
    return pd.DataFrame(rows, columns=["smiles", "p_np"]).astype(str)


def test_bonds_in_both_directions_with_features():
    from rdkit import Chem

    graph = mol_to_graph(Chem.MolFromSmiles("CCO"))
    assert graph.x.shape == (3, ATOM_DIM)
    assert graph.edge_index.shape == (2, 4) and graph.edge_attr.shape == (4, BOND_DIM)
    edges = set(map(tuple, graph.edge_index.t().tolist()))
    assert edges == {(0, 1), (1, 0), (1, 2), (2, 1)}


def test_molecule_without_bonds_gets_empty_edge_index():
    graphs, kept, dropped = featurize_table(_table([["[Na+]", "1"], ["C", "0"]]), SPEC)
    assert [tuple(g.edge_index.shape) for g in graphs] == [(2, 0), (2, 0)]
    assert graphs[0].edge_attr.shape == (0, BOND_DIM)


def test_invalid_rows_are_dropped_counted_and_listed():
    rows = [["CCO", "1"], ["not a smiles", "1"], ["", "0"], ["CCN", "maybe"], ["c1ccccc1", "0"]]
    graphs, kept, dropped = featurize_table(_table(rows), SPEC)
    # rows are numbered as 1-based data rows of the file (header excluded)
    assert len(graphs) == 2 and kept["data_row_1based"].tolist() == [1, 5]
    assert kept["label"].tolist() == [1, 0]
    reasons = dict(zip(dropped["data_row_1based"], dropped["reason"]))
    assert set(reasons) == {2, 3, 4}
    assert (
        "could not parse" in reasons[2]
        and "empty" in reasons[3]
        and "'maybe'" in reasons[4]
        and "p_np" in reasons[4]
    )
    assert [float(g.y) for g in graphs] == [1.0, 0.0]


def test_no_valid_rows_is_an_error():
    with pytest.raises(ValueError, match="no valid molecules"):
        featurize_table(_table([["xx", "1"]]), SPEC, source="toy.csv")


def test_missing_column_names_the_file(tmp_path):
    path = tmp_path / "toy.csv"
    path.write_text("smiles,label\nCCO,1\n")
    with pytest.raises(ValueError, match=r"toy.csv: missing column\(s\) \['p_np'\]"):
        read_molecule_table(str(path), SPEC)


def test_saved_graphs_roundtrip(tmp_path):
    graphs, _, _ = featurize_table(
        _table([["CCO", "1"], ["c1ccccc1O", "0"], ["[Cl-].[Na+]", "1"]]), SPEC
    )
    save_graphs(graphs, tmp_path / "g.pt")
    loaded = MoleculeGraphs(tmp_path / "g.pt")
    assert len(loaded) == 3 and loaded.atom_dim == ATOM_DIM
    assert torch.equal(loaded[1].x, graphs[1].x) and torch.equal(
        loaded[2].edge_index, graphs[2].edge_index
    )
    assert loaded.labels.tolist() == [1.0, 0.0, 1.0]


def test_dropped_rows_keep_their_row_in_the_file_after_subsampling():
    rows = [["CCO", str(i % 2)] for i in range(40)]
    # the draw depends on positions only, so a row known to be drawn can be made invalid
    bad = int(seeded_rows(_table(rows), 20, seed=3).index[-1])
    rows[bad] = ["not a smiles", "1"]
    frame = seeded_rows(_table(rows), 20, seed=3)
    _, kept, dropped = featurize_table(frame, SPEC)
    assert bad >= 20 and dropped["data_row_1based"].tolist() == [bad + 1]
    assert kept["data_row_1based"].isin(frame.index + 1).all()


def test_single_class_points_to_the_label_mapping():
    with pytest.raises(ValueError, match="all 2 valid molecules have label '1'.*gnn.tables"):
        featurize_table(_table([["CCO", "1"], ["CCN", "1"]]), SPEC, source="toy.csv")


def test_every_row_dropped_lists_counts_per_reason():
    rows = [["CCO", "yes"], ["CCN", "no"], ["CCC", "no"]]
    with pytest.raises(ValueError) as error:
        featurize_table(_table(rows), SPEC, source="toy.csv")
    message = str(error.value)
    assert "toy.csv: no valid molecules among 3 rows" in message
    assert "label 'no' in column 'p_np' is not one of ['0', '1']: 2" in message
    assert "dropped table" not in message
