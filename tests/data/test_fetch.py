import hashlib

import pytest

from medlab.data.fetch import (
    DataFetchError,
    UrlDataset,
    export_packaged_file,
    fetch_url_dataset,
    packaged_file,
    resolve_mirror,
)

UNREACHABLE = "http://127.0.0.1:9/nothing-here/BBBP.csv"  # discard port: connection refused at once


def _mirror_with(tmp_path, name="data.csv", content=b"a,b\n1,2\n"):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / name).write_bytes(content)
    return mirror, hashlib.sha256(content).hexdigest()


def test_mirror_copy_with_checksum(tmp_path):
    mirror, digest = _mirror_with(tmp_path)
    dest = tmp_path / "out" / "data.csv"
    record = fetch_url_dataset(
        UrlDataset("toy", UNREACHABLE, "data.csv", digest), dest, mirror=mirror
    )
    assert dest.read_bytes() == b"a,b\n1,2\n"
    assert (
        record["sha256"] == digest
        and record["sha256_verified"]
        and record["source"].startswith("mirror:")
    )


def test_checksum_mismatch_is_a_clear_error_and_leaves_no_file(tmp_path):
    mirror, _ = _mirror_with(tmp_path)
    dest = tmp_path / "out" / "data.csv"
    with pytest.raises(DataFetchError, match="checksum mismatch.*data.csv.*datasets.toy.sha256"):
        fetch_url_dataset(UrlDataset("toy", UNREACHABLE, "data.csv", "0" * 64), dest, mirror=mirror)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_offline_without_mirror_names_url_and_how_to_run_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDLAB_DATA_MIRROR", raising=False)
    dest = tmp_path / "BBBP.csv"
    with pytest.raises(DataFetchError) as error:
        fetch_url_dataset(
            UrlDataset("bbbp", UNREACHABLE, "BBBP.csv", None), dest, mirror=None, timeout=5
        )
    message = str(error.value)
    assert UNREACHABLE in message and "MEDLAB_DATA_MIRROR" in message
    assert not dest.exists()


def test_mirror_without_the_file_falls_back_to_url(tmp_path):
    mirror, _ = _mirror_with(tmp_path, name="other.csv")
    with pytest.raises(DataFetchError, match="has no BBBP.csv"):
        fetch_url_dataset(
            UrlDataset("bbbp", UNREACHABLE, "BBBP.csv", None),
            tmp_path / "BBBP.csv",
            mirror=mirror,
            timeout=5,
        )


def test_environment_mirror_wins_over_config(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDLAB_DATA_MIRROR", str(tmp_path))
    assert resolve_mirror("/somewhere/else") == tmp_path
    monkeypatch.delenv("MEDLAB_DATA_MIRROR")
    assert str(resolve_mirror("/somewhere/else")) == "/somewhere/else"
    assert resolve_mirror(None) is None


def test_packaged_b3db_is_located_without_import(tmp_path):
    import sys

    path = packaged_file("B3DB", "B3DB_classification.tsv")
    assert path.is_file() and "B3DB" not in sys.modules
    record = export_packaged_file(
        "b3db", "qc-b3db", "B3DB", "B3DB_classification.tsv", tmp_path / "b3db.tsv"
    )
    assert record["url"].startswith("PyPI package qc-b3db==")
    with pytest.raises(DataFetchError, match="no_such_package_xyz"):
        packaged_file("no_such_package_xyz", "x.tsv")
    with pytest.raises(DataFetchError, match="no file"):
        packaged_file("B3DB", "missing.tsv")


def _zip_bytes(tmp_path) -> bytes:
    import zipfile

    archive = tmp_path / "build.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("corpus/text/1.txt", "Cancer cells evade apoptosis. " * 200)
    return archive.read_bytes()


def test_truncated_zip_without_checksum_is_never_kept_and_a_fixed_mirror_succeeds(tmp_path):
    complete = _zip_bytes(tmp_path)
    mirror, _ = _mirror_with(tmp_path, name="hoc.zip", content=complete[: len(complete) // 2])
    dest = tmp_path / "out" / "hoc.zip"
    dataset = UrlDataset("hoc", UNREACHABLE, "hoc.zip", None)
    with pytest.raises(DataFetchError) as error:
        fetch_url_dataset(dataset, dest, mirror=mirror)
    message = str(error.value)
    assert "hoc.zip" in message and f"mirror:{mirror / 'hoc.zip'}" in message
    assert "not kept" in message and "replace" in message
    assert not dest.exists() and list(dest.parent.iterdir()) == []

    (mirror / "hoc.zip").write_bytes(complete)
    record = fetch_url_dataset(dataset, dest, mirror=mirror)
    assert dest.read_bytes() == complete and not record["sha256_verified"]


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("data.json", b'{"data": [', "not a readable .json"),
        ("data.csv", b"\xff\xfe\x00garbage\n", "not a readable .csv"),
        ("data.tsv", b"<!DOCTYPE html>\n<html>", "not a .tsv header"),
    ],
)
def test_content_check_without_checksum(tmp_path, name, content, expected):
    mirror, _ = _mirror_with(tmp_path, name=name, content=content)
    dest = tmp_path / "out" / name
    with pytest.raises(DataFetchError, match=expected):
        fetch_url_dataset(UrlDataset("toy", UNREACHABLE, name, None), dest, mirror=mirror)
    assert not dest.exists()
