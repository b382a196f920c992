"""Embedding figures in the page: PNG files become data: URIs (no network, no side files)."""

from __future__ import annotations

import base64
from pathlib import Path


def png_data_uri(path: str | Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")
