"""Render the report page with Jinja2 from the run header and the experiment sections."""

from __future__ import annotations

import jinja2

from medlab.io import atomic_path
from medlab.report.tables import html_table


def render_report(
    path, title: str, header: dict, sections: list[dict], disabled: list[str]
) -> None:
    """Write the self-contained page to ``path`` atomically."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("medlab.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    template = environment.get_template("report.html.j2")
    page = template.render(
        title=title,
        header=header,
        rule_times_html=html_table(header["rule_times"], best={"total_s": "max"}, digits=1),
        usage_html=html_table(header["usage"]) if "usage" in header else "",
        sections=sections,
        disabled=disabled,
        css=environment.loader.get_source(environment, "report.css")[0],
    )
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
