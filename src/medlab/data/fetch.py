"""Fetch an external dataset file: local mirror first, then its URL; verify; write atomically.

The mirror is a directory holding files under their dataset ``filename`` (set with the
``MEDLAB_DATA_MIRROR`` environment variable or the ``data_mirror`` config key). Every
fetch writes a provenance record (source, sha256, size, time) that the report shows.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from medlab.io import atomic_path, sha256_file

log = logging.getLogger(__name__)

MIRROR_ENV = "MEDLAB_DATA_MIRROR"


class DataFetchError(RuntimeError):
    """A dataset could not be obtained or failed verification."""


@dataclass(frozen=True)
class UrlDataset:
    """A file published at ``url``; ``sha256`` is None where the host re-packs on the fly."""

    name: str
    url: str
    filename: str
    sha256: str | None = None


def resolve_mirror(config_mirror: str | None = None) -> Path | None:
    """The mirror directory: ``$MEDLAB_DATA_MIRROR`` wins over the config key; None if unset."""
    value = os.environ.get(MIRROR_ENV) or config_mirror
    return Path(value).expanduser() if value else None


def fetch_url_dataset(
    dataset: UrlDataset, dest: str | os.PathLike, mirror: Path | None = None, timeout: float = 60.0
) -> dict:
    """Copy ``dataset`` from ``mirror`` (if it has the file) or download it to ``dest``.

    Without a configured sha256 the content is verified instead: the file must open as what
    its name claims (see :func:`check_content`). Returns the provenance record. Raises
    :class:`DataFetchError` naming the dataset, URL and file when the mirror lacks the file
    and the URL cannot be reached, when the checksum does not match, or when the content
    check fails; in every case nothing is left at ``dest``.
    """
    dest = Path(dest)
    mirrored = mirror / dataset.filename if mirror else None
    with atomic_path(dest) as tmp:
        if mirrored is not None and mirrored.is_file():
            log.info("dataset %s: copying from mirror %s", dataset.name, mirrored)
            shutil.copyfile(mirrored, tmp)
            source = f"mirror:{mirrored}"
        else:
            if mirror is not None:
                log.info(
                    "dataset %s: %s not in mirror %s; downloading",
                    dataset.name,
                    dataset.filename,
                    mirror,
                )
            _download(dataset, tmp, timeout, mirror)
            source = dataset.url
        digest = sha256_file(tmp)
        if dataset.sha256 and digest != dataset.sha256.lower():
            raise DataFetchError(
                f"dataset {dataset.name!r}: checksum mismatch for {dataset.filename} from {source}: "
                f"expected sha256 {dataset.sha256}, got {digest}. The file was not kept. "
                f"If the publisher changed the file on purpose, update datasets.{dataset.name}.sha256 in the config."
            )
        if not dataset.sha256:
            _verify_content(
                dataset, tmp, source, mirrored if source.startswith("mirror:") else None
            )
    return {
        "dataset": dataset.name,
        "url": dataset.url,
        "source": source,
        "filename": dataset.filename,
        "sha256": digest,
        "sha256_verified": bool(dataset.sha256),
        "bytes": dest.stat().st_size,
        "fetched_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def check_content(path: str | os.PathLike, filename: str) -> None:
    """Check that ``path`` opens as what ``filename``'s extension claims; ValueError if not.

    ``.zip``: every member's CRC matches (``ZipFile.testzip``); ``.json``: parses as UTF-8
    JSON; ``.csv`` / ``.tsv``: a UTF-8 header line with at least two columns. Other
    extensions are not checked.
    """
    suffix = Path(filename).suffix.lower()
    try:
        if suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                damaged = archive.testzip()
            if damaged is not None:
                raise ValueError(f"archive member {damaged} fails its CRC check")
        elif suffix == ".json":
            with open(path, encoding="utf-8") as handle:
                json.load(handle)
        elif suffix in (".csv", ".tsv"):
            separator = "," if suffix == ".csv" else "\t"
            with open(path, encoding="utf-8") as handle:
                header = handle.readline()
            if separator not in header:
                raise ValueError(f"the first line {header[:80]!r} is not a {suffix} header")
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, EOFError) as error:
        raise ValueError(f"not a readable {suffix} file ({error})") from error


def _verify_content(dataset: UrlDataset, tmp: Path, source: str, mirrored: Path | None) -> None:
    try:
        check_content(tmp, dataset.filename)
    except ValueError as error:
        remedy = (
            f"replace {mirrored} in the mirror with a complete copy"
            if mirrored
            else f"rerun to download it again (the file at {dataset.url} may have been cut off)"
        )
        raise DataFetchError(
            f"dataset {dataset.name!r}: {dataset.filename} from {source} is damaged: {error}. "
            f"The file was not kept; {remedy}."
        ) from error


def _download(dataset: UrlDataset, tmp: Path, timeout: float, mirror: Path | None) -> None:
    request = urllib.request.Request(dataset.url, headers={"User-Agent": "medlab"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        where = (
            f"mirror {mirror} has no {dataset.filename}" if mirror else f"${MIRROR_ENV} is not set"
        )
        raise DataFetchError(
            f"dataset {dataset.name!r}: cannot download {dataset.url} ({error}); {where}. "
            f"To run offline, put {dataset.filename} in a directory and set {MIRROR_ENV} "
            f"(or the data_mirror config key) to it."
        ) from error


def packaged_file(module: str, relative_path: str) -> Path:
    """Path of a data file shipped inside an installed Python package, without importing it.

    ``importlib.util.find_spec`` locates the package directory; importing it could be
    expensive (the B3DB package loads ~470 MB on import).
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DataFetchError(
            f"package module {module!r} is not installed; install the project with `pip install -e .`"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / relative_path
    if not path.is_file():
        raise DataFetchError(
            f"package module {module!r} has no file {relative_path!r} (looked at {path})"
        )
    return path


def export_packaged_file(
    name: str, distribution: str, module: str, relative_path: str, dest: str | os.PathLike
) -> dict:
    """Copy a packaged data file to ``dest`` atomically and return its provenance record."""
    source = packaged_file(module, relative_path)
    with atomic_path(dest) as tmp:
        shutil.copyfile(source, tmp)
    return {
        "dataset": name,
        "url": f"PyPI package {distribution}=={importlib.metadata.version(distribution)}",
        "source": f"package:{distribution}/{relative_path}",
        "filename": Path(relative_path).name,
        "sha256": sha256_file(dest),
        "sha256_verified": False,
        "bytes": Path(dest).stat().st_size,
        "fetched_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
