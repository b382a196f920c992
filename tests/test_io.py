import pytest

from medlab.io import atomic_path, read_json, sha256_file, write_json


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
