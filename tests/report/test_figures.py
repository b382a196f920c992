"""Figures embedded in the report page as data: URIs."""

import base64

from medlab.report.figures import png_data_uri


def test_png_becomes_a_data_uri_with_the_same_bytes(tmp_path):
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    (tmp_path / "figure.png").write_bytes(content)
    uri = png_data_uri(tmp_path / "figure.png")
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]) == content
