"""Reports of runs: a self-contained HTML page, and a check of it in a headless browser."""

from aelab.reports.html import (
    Figure,
    Report,
    Section,
    Table,
    library_versions,
    render_html,
    write_report,
)

__all__ = [
    "Figure",
    "Report",
    "Section",
    "Table",
    "library_versions",
    "render_html",
    "write_report",
]
