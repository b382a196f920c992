"""Bad inputs and what the user is told: one table, one row per input.

Each row names a bad input (a config preset, a data file, a dataset download), what the
library does with it, and the fragments its message must contain: the file, row or key
at fault and what to do. Every row runs in a scratch directory that already holds
earlier results; after the failure those must be byte for byte unchanged and nothing
else may have appeared (no partial output).

To add a case, add a row: ``preset(...)`` for a configuration, ``reading(reader, name,
content)`` for any reader of a user file (e.g. a RAG corpus loader), ``fetching(...)``
for a download. Rows with ``raises=False`` are inputs that are skipped and counted
rather than fatal; their fragments are looked for in the reader's returned value.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, copy_workflow, snakemake

from medlab.config import ConfigError, load_config
from medlab.data.fetch import DataFetchError, UrlDataset, fetch_url_dataset
from medlab.gnn.featurize import TableSpec, featurize_table, read_molecule_table
from medlab.multilabel.data import read_hallmarks_zip
from medlab.rag.synthetic import synthesize_corpus

UNREACHABLE = "http://127.0.0.1:9/nothing-here/"  # discard port: connection refused at once
# earlier results every row starts from; fetch rows target the results/data/toy/ files
EARLIER = {
    "results/report/index.html": b"<html>earlier report</html>",
    **{
        f"results/data/toy/data.{kind}": b"earlier verified copy" for kind in ("csv", "zip", "json")
    },
}


@dataclass(frozen=True)
class BadInput:
    """One row: ``attempt(scratch)`` runs the library on the bad input inside ``scratch``."""

    name: str
    attempt: Callable[[Path], object]
    fragments: tuple[str, ...]
    error: type[Exception] = Exception
    raises: bool = True


# ---- how rows build their input -------------------------------------------------------


def preset(text: str) -> Callable[[Path], object]:
    """Load config.yaml with a preset holding ``text`` merged over it."""

    def attempt(scratch: Path):
        path = scratch / "preset.yaml"
        path.write_text(text, encoding="utf-8")
        return load_config(ROOT, path)

    return attempt


def preset_file(name: str) -> Callable[[Path], object]:
    """Load config.yaml with the preset at ``name`` (relative to the scratch directory)."""
    return lambda scratch: load_config(ROOT, scratch / name)


def reading(
    reader: Callable[..., object], name: str, content: bytes, *args
) -> Callable[[Path], object]:
    """Write ``content`` to a file called ``name``, then call ``reader(path, *args)``."""

    def attempt(scratch: Path):
        path = scratch / name
        path.write_bytes(content)
        return reader(str(path), *args)

    return attempt


def fetching(
    name: str, content: bytes | None, sha256: str | None = None
) -> Callable[[Path], object]:
    """Fetch dataset ``toy`` (file ``name``) from a mirror holding ``content`` (None: no mirror).

    The destination under results/data/toy/ already holds an earlier copy (see EARLIER).
    """

    def attempt(scratch: Path):
        mirror = None
        if content is not None:
            mirror = scratch / "mirror"
            mirror.mkdir()
            (mirror / name).write_bytes(content)
        dest = scratch / "results" / "data" / "toy" / name
        return fetch_url_dataset(
            UrlDataset("toy", UNREACHABLE + name, name, sha256), dest, mirror=mirror, timeout=5
        )

    return attempt


# ---- inputs --------------------------------------------------------------------------

MOLECULES = TableSpec("smiles", "p_np", "1", "0")


def _molecules(rows: list[tuple[str, str]]) -> bytes:
    return ("smiles,p_np\n" + "".join(f"{s},{label}\n" for s, label in rows)).encode()


def _featurize(path: str) -> object:
    return featurize_table(read_molecule_table(path, MOLECULES), MOLECULES, source=path)


def _synthesize(questions_path: str) -> object:
    """The synthetic stage on a prepared questions file (outputs beside it)."""
    directory = Path(questions_path).parent
    return synthesize_corpus(
        directory / "passages.jsonl",
        questions_path,
        *(
            directory / "synthetic" / name
            for name in ("questions.jsonl", "stats.json", "sample.tsv")
        ),
        per_passage=3,
        max_examples=None,
        seed=0,
    )


def _dropped_rows(path: str) -> str:
    """The dropped table as text, for rows that are counted rather than fatal."""
    _, _, dropped = _featurize(path)
    return dropped.to_csv(sep="\t", index=False)


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


HOC_ZIP = _zip({"hoc/text/1.txt": "Cells evade apoptosis.\n" * 50, "hoc/labels/1.txt": "<NULL"})

CASES = [
    # configuration: unknown keys, types, ranges, names that become paths
    BadInput(
        "config key typo",
        preset("gnn:\n  defualts: {lr: 0.1}\n"),
        ("config key gnn.defualts", "did you mean gnn.defaults?"),
        ConfigError,
    ),
    BadInput(
        "config top-level typo",
        preset("experiment: {gnn: false}\n"),
        ("config key experiment:", "did you mean experiments?"),
        ConfigError,
    ),
    BadInput(
        "config wrong type",
        preset("gnn:\n  defaults: {lr: fast}\n"),
        ("config key gnn.defaults.lr", "'fast' is not of type 'number'"),
        ConfigError,
    ),
    BadInput(
        "config out of range",
        preset("gnn:\n  defaults: {dropout: 1.5}\n"),
        ("config key gnn.defaults.dropout", "1.5"),
        ConfigError,
    ),
    BadInput(
        "config undefined variant",
        preset("gnn:\n  run_variants: [ghost]\n"),
        ("config key gnn.run_variants[0]", "'ghost' is not defined under gnn.variants"),
        ConfigError,
    ),
    BadInput(
        "config collapse study with an undefined variant",
        preset(
            "gnn:\n  collapse_study: {variants: [ghost], datasets: [b3db], splits: [random], seeds: [0]}\n"
        ),
        ("config key gnn.collapse_study.variants[0]", "'ghost' is not defined under gnn.variants"),
        ConfigError,
    ),
    BadInput(
        "config collapse study on a dataset that is not featurized",
        preset(
            "gnn:\n  collapse_study: {variants: [gcn], datasets: [bbbp], splits: [random], seeds: [0]}\n"
        ),
        ("config key gnn.collapse_study.datasets[0]", "'bbbp' is not in gnn.datasets", "add it"),
        ConfigError,
    ),
    BadInput(
        "config external dataset that is not defined",
        preset("gnn:\n  external: {dataset: ghost}\n"),
        ("config key gnn.external.dataset", "'ghost' is not defined under datasets"),
        ConfigError,
    ),
    BadInput(
        "config unknown normalisation",
        preset("gnn:\n  variants: {gat_edge: {norm: layer}}\n"),
        ("config key gnn.variants.gat_edge.norm", "'layer'"),
        ConfigError,
    ),
    BadInput(
        "config malformed checksum",
        preset("datasets:\n  bbbp: {sha256: abc}\n"),
        ("config key datasets.bbbp.sha256", "'abc'"),
        ConfigError,
    ),
    BadInput(
        "gnn split fractions",
        preset("gnn:\n  split_fractions: [0.5, 0.3, 0.3]\n"),
        ("config key gnn.split_fractions", "must sum to 1"),
        ConfigError,
    ),
    BadInput(
        "rag split fractions",
        preset("rag:\n  split_fractions: [0.5, 0.3, 0.3]\n"),
        ("config key rag.split_fractions", "must sum to 1"),
        ConfigError,
    ),
    BadInput(
        "reader stride too large for its window",
        preset("rag:\n  reader: {max_length: 128, stride: 128}\n"),
        ("config key rag.reader.stride", "max_length / 2"),
        ConfigError,
    ),
    BadInput(
        "multilabel split fractions",
        preset("multilabel:\n  split_fractions: [0.7, 0.2, 0.2]\n"),
        ("config key multilabel.split_fractions", "must sum to 1", "1.1"),
        ConfigError,
    ),
    BadInput(
        "multilabel sentence units without sentence labels",
        preset("multilabel: {unit: sentence}\n"),
        ("config key multilabel.unit", "hoc"),
        ConfigError,
    ),
    BadInput(
        "squad corpus from an undefined dataset",
        preset("rag:\n  corpus: {format: squad, dataset: nowhere}\n"),
        ("config key rag.corpus.dataset", "'nowhere'"),
        ConfigError,
    ),
    BadInput(
        "dataset name escaping results/",
        preset(
            "datasets:\n  ../../../../tmp/x: {url: 'http://x', filename: x.csv, sha256: null}\n"
        ),
        ("config key datasets", "'../../../../tmp/x'", "letters, digits, '_' and '-'"),
        ConfigError,
    ),
    BadInput(
        "packaged dataset name with a slash",
        preset("packaged_datasets:\n  a/b: {distribution: d, module: m, path: p}\n"),
        ("config key packaged_datasets", "'a/b'"),
        ConfigError,
    ),
    BadInput(
        "gnn variant name with a slash",
        preset("gnn:\n  variants:\n    ../v: {}\n"),
        ("config key gnn.variants", "'../v'"),
        ConfigError,
    ),
    BadInput(
        "attention model name with a slash",
        preset("attention:\n  models: {../m: 'packaged:all-MiniLM-L6-v2'}\n"),
        ("config key attention.models", "'../m'"),
        ConfigError,
    ),
    BadInput(
        "rag corpus name with a slash",
        preset("rag:\n  corpus: {name: ../c}\n"),
        ("config key rag.corpus.name", "'../c'"),
        ConfigError,
    ),
    BadInput(
        "dataset filename '..'",
        preset("datasets:\n  bbbp: {filename: '..'}\n"),
        ("config key datasets.bbbp.filename", "'..'"),
        ConfigError,
    ),
    BadInput(
        "heatmap layer beyond the model",
        preset("attention: {heatmap_layer: 99}\n"),
        ("config key attention.heatmap_layer", "99", "6 layers", "attention.models.minilm"),
        ConfigError,
    ),
    BadInput(
        "disabled head beyond the model",
        preset("attention:\n  disabled_heads: {heads: [[0, 1], [2, 12]]}\n"),
        ("config key attention.disabled_heads.heads[1]", "[2, 12]", "12 heads"),
        ConfigError,
    ),
    BadInput(
        "more heads per layer than the model has",
        preset("attention:\n  cost: {heads_per_layer: [1, 24]}\n"),
        ("config key attention.cost.heads_per_layer[1]", "24"),
        ConfigError,
    ),
    BadInput(
        "preset file missing",
        preset_file("presets/tyni.yaml"),
        ("tyni.yaml does not exist", "--configfile"),
        ConfigError,
    ),
    BadInput(
        "preset not a mapping",
        preset("- gnn\n- rag\n"),
        ("preset.yaml holds a list, not a mapping",),
        ConfigError,
    ),
    BadInput(
        "preset not YAML",
        preset("gnn: {defaults: [\n"),
        ("preset.yaml is not valid YAML",),
        ConfigError,
    ),
    # GNN molecule tables
    BadInput(
        "molecule table not UTF-8",
        reading(_featurize, "toy.csv", b"smiles,p_np\nCCO,1\n\xff\xfe,0\n"),
        ("toy.csv: not UTF-8", "delete it and rerun"),
        ValueError,
    ),
    BadInput(
        "molecule table with a missing column",
        reading(_featurize, "toy.csv", b"smiles,label\nCCO,1\nCCN,0\n"),
        ("toy.csv: missing column(s) ['p_np']", "gnn.tables"),
        ValueError,
    ),
    BadInput(
        "molecule table with yes/no labels",
        reading(_featurize, "toy.csv", _molecules([("CCO", "yes"), ("CCN", "no"), ("CC", "no")])),
        (
            "toy.csv: no valid molecules among 3 rows",
            "label 'no' in column 'p_np' is not one of ['0', '1']: 2",
            "label 'yes' in column 'p_np' is not one of ['0', '1']: 1",
            "positive_label",
        ),
        ValueError,
    ),
    BadInput(
        "molecule table with one class",
        reading(_featurize, "toy.csv", _molecules([("CCO", "1"), ("CCN", "1")])),
        ("toy.csv: all 2 valid molecules have label '1'", "none has '0'", "gnn.tables"),
        ValueError,
    ),
    BadInput(
        "invalid SMILES are dropped and counted",
        reading(
            _dropped_rows, "toy.csv", _molecules([("CCO", "1"), ("not a smiles", "0"), ("C", "0")])
        ),
        ("data_row_1based", "2\tnot a smiles\tRDKit could not parse the SMILES"),
        raises=False,
    ),
    # Hallmarks of Cancer archive
    BadInput(
        "truncated HoC archive",
        reading(read_hallmarks_zip, "hoc.zip", HOC_ZIP[: len(HOC_ZIP) // 2]),
        ("hoc.zip: not a readable ZIP archive", "delete it", "rerun"),
        ValueError,
    ),
    BadInput(
        "HoC archive that is an HTML page",
        reading(read_hallmarks_zip, "hoc.zip", b"<!DOCTYPE html><html>rate limited</html>"),
        ("hoc.zip: not a readable ZIP archive", "delete it"),
        ValueError,
    ),
    # downloads
    BadInput(
        "checksum mismatch",
        fetching("data.csv", b"a,b\n1,2\n", sha256="0" * 64),
        ("checksum mismatch for data.csv", "not kept", "datasets.toy.sha256"),
        DataFetchError,
    ),
    BadInput(
        "truncated zip in the mirror without a checksum",
        fetching("data.zip", HOC_ZIP[: len(HOC_ZIP) // 2]),
        ("data.zip from mirror:", "damaged", "not kept", "replace"),
        DataFetchError,
    ),
    BadInput(
        "cut-off JSON in the mirror without a checksum",
        fetching("data.json", b'{"data": [{"title": '),
        ("data.json from mirror:", "not a readable .json", "not kept"),
        DataFetchError,
    ),
    BadInput(
        "unknown synthetic question kind",
        preset("rag:\n  reader:\n    synthetic: {kinds: [numbers]}\n"),
        ("config key rag.reader.synthetic.kinds", "'numbers'"),
        ConfigError,
    ),
    BadInput(
        "synthetic questions from a corpus without training questions",
        reading(
            _synthesize,
            "questions.jsonl",
            b'{"id": "q", "question": "Why?", "doc_id": "d", "answers": [], "split": "dev"}\n',
        ),
        ("questions.jsonl", "no question in the train split", "rag.split_fractions"),
        ValueError,
    ),
    BadInput(
        "offline without a mirror",
        fetching("data.csv", None),
        (UNREACHABLE + "data.csv", "MEDLAB_DATA_MIRROR", "To run offline"),
        DataFetchError,
    ),
]


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    """A working directory holding earlier results."""
    monkeypatch.delenv("MEDLAB_DATA_MIRROR", raising=False)
    for name, content in EARLIER.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input_is_named_and_leaves_earlier_results(scratch, case):
    if case.raises:
        with pytest.raises(case.error) as error:
            case.attempt(scratch)
        outcome = str(error.value)
    else:
        outcome = str(case.attempt(scratch))
    for fragment in case.fragments:
        assert fragment in outcome, f"{fragment!r} missing from: {outcome}"
    # earlier results untouched, nothing partial left beside them
    assert _snapshot(scratch / "results") == {
        name.removeprefix("results/"): content for name, content in EARLIER.items()
    }


def test_config_typo_is_one_short_line_before_snakemakes_validation(tmp_path):
    """Through Snakemake itself: the project's check speaks before the schema dump."""
    workflow = copy_workflow(tmp_path / "workflow")
    (workflow / "typo.yaml").write_text("multilabel:\n  trainig: {epochs: 1}\n")
    result = snakemake(workflow, "-n", "--cores", "1", "report", "--configfile", "typo.yaml")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "config key multilabel.trainig: unknown key; did you mean multilabel.training?" in output
    assert "Failed validating" not in output and len(output.splitlines()) < 15


def test_table_rows_are_uniquely_named():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
