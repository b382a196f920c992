"""Atomic file output and small serialization helpers.

Every artifact the pipeline writes goes through :func:`atomic_path`, so a job that is
killed half-way leaves no file at the final path that Snakemake (or a person) could
mistake for a complete result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary file path next to ``path``; rename it onto ``path`` on success.

    The temporary file lives in the same directory so the final ``os.replace`` is atomic
    on POSIX file systems. On any exception the temporary file is removed and the
    exception propagates; ``path`` is never left half-written.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates 0600 files; give results the permissions a plain open() would
    os.chmod(tmp, 0o666 & ~_current_umask())
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory next to ``path``; move it onto ``path`` on success.

    For outputs that are directories (a saved model with its tokenizer): fill the yielded
    directory, and only a complete one ever appears at ``path``. An existing ``path`` is
    replaced. On any exception the temporary directory is removed and the exception
    propagates. The final swap is two steps (remove the old directory, rename the new one
    into place), so a job killed between them leaves no directory at ``path``, never a
    partial one.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    # mkdtemp creates 0700 directories; give results the permissions a plain mkdir() would
    os.chmod(tmp, 0o777 & ~_current_umask())
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _current_umask() -> int:
    # the umask can only be read by setting it; set it straight back
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_json(obj, path: str | os.PathLike) -> None:
    """Write ``obj`` as indented, key-sorted JSON (stable bytes for identical content)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def read_json(path: str | os.PathLike):
    return json.loads(Path(path).read_text())


def write_tsv(frame: pd.DataFrame, path: str | os.PathLike, **kwargs) -> None:
    """Write a data frame as a tab-separated file without the index, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, **kwargs)


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint_files(*paths: str | os.PathLike) -> str:
    """Hex SHA-256 identifying the contents of ``paths``, in the given order.

    Binds a derived artifact (a checkpoint) to the inputs it came from: any changed byte,
    or another order of the same files, gives another fingerprint. Names do not count, so
    moving an input leaves its fingerprint unchanged. Raises FileNotFoundError naming a
    missing path.
    """
    digest = hashlib.sha256()
    for path in paths:
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()


def _json_default(value):
    # numpy scalars and paths show up in metrics dictionaries
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot serialize {type(value).__name__} to JSON")


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, **kwargs) -> None:
    """Write a data frame as comma-separated values without the index, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, **kwargs)
