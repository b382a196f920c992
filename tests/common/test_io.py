import pytest

from medlab.io import (
    atomic_directory,
    atomic_path,
    fingerprint_files,
    read_json,
    sha256_file,
    write_json,
)


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"
    assert list(target.parent.iterdir()) == [target]


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_json_roundtrip_is_stable(tmp_path):
    import numpy as np

    path = tmp_path / "m.json"
    write_json({"b": np.float64(0.5), "a": 1}, path)
    first = path.read_bytes()
    write_json({"a": 1, "b": 0.5}, path)
    assert path.read_bytes() == first
    assert read_json(path) == {"a": 1, "b": 0.5}
    assert len(sha256_file(path)) == 64


def test_atomic_directory_moves_a_complete_directory_into_place(tmp_path):
    target = tmp_path / "models" / "reader"
    with atomic_directory(target) as tmp:
        (tmp / "weights.bin").write_text("w")
        assert tmp.is_dir() and not target.exists()
    assert [p.name for p in target.iterdir()] == ["weights.bin"]
    with atomic_directory(target) as tmp:
        (tmp / "config.json").write_text("{}")
    assert [p.name for p in target.iterdir()] == ["config.json"]
    assert [p.name for p in target.parent.iterdir()] == ["reader"]


def test_atomic_directory_leaves_the_old_one_on_failure(tmp_path):
    target = tmp_path / "reader"
    target.mkdir()
    (target / "old.bin").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "new.bin").write_text("half")
            raise RuntimeError("killed")
    assert [p.name for p in tmp_path.iterdir()] == ["reader"]
    assert [p.name for p in target.iterdir()] == ["old.bin"]


def test_fingerprint_files_follows_contents_and_order(tmp_path):
    first, second = tmp_path / "graphs.pt", tmp_path / "split.json"
    first.write_bytes(b"graphs")
    second.write_text("[]")
    fingerprint = fingerprint_files(first, second)
    assert len(fingerprint) == 64
    assert fingerprint_files(first, second) == fingerprint
    assert fingerprint_files(second, first) != fingerprint
    moved = tmp_path / "moved.pt"
    first.rename(moved)
    assert fingerprint_files(moved, second) == fingerprint
    second.write_text("[{}]")
    assert fingerprint_files(moved, second) != fingerprint
    with pytest.raises(FileNotFoundError):
        fingerprint_files(tmp_path / "missing")
