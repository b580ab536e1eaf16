"""The HTML report opened in a real headless Chromium: it loads, renders whole, and is clean."""

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aelab.plots.common import new_figure, save_figure
from aelab.reports import Figure, Report, Section, Table, library_versions, write_report
from aelab.reports.browser import HeadlessChromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)

    fig = new_figure(6, 3.6)
    ax = fig.add_subplot()
    ax.plot(np.arange(1, 11), np.exp(-np.arange(10) / 3), marker="o", label="training")
    ax.set(yscale="log", xlabel="epoch", ylabel="loss")
    ax.legend()
    loss = save_figure(fig, folder / "plots" / "loss.png")

    fig = new_figure(6.4, 3.8)
    ax = fig.add_subplot()
    ax.hist(rng.lognormal(0, 0.4, 500), bins=40, label="normal")
    ax.hist(rng.lognormal(1.2, 0.4, 50), bins=40, label="anomaly", color="tab:red")
    ax.axvline(2.0, color="black", linestyle="--")
    ax.legend()
    histogram = save_figure(fig, folder / "plots" / "scores.png")

    fig = new_figure(10, 4.2)
    for ax in fig.subplots(1, 2):
        ax.plot([0, 0.1, 0.4, 1], [0, 0.8, 0.95, 1])
    curves = save_figure(fig, folder / "plots" / "roc_pr.png")

    table = pd.DataFrame(
        {
            "detector": ["autoencoder", "isolation forest"],
            "ROC-AUC": [0.97, 0.88],
            "F1": [0.8, np.nan],
        }
    )
    report = Report(
        title="Browser check <b>not bold</b>",
        subtitle="three figures and a table",
        sections=[
            Section("Data", intro="Synthetic windows.", facts={"windows": 1200, "rate": 0.1}),
            Section(
                "Detection",
                tables=[Table("Detectors", table)],
                figures=[
                    Figure("Loss", loss),
                    Figure("Scores", histogram, caption="with the threshold"),
                    Figure("ROC and PR", curves),
                ],
            ),
        ],
        settings={"seed": 0, "training": {"epochs": 3}},
        checksums={"synthetic": "0" * 64},
        versions=library_versions(),
        durations={"training": 12.5, "total": 14.0},
    )
    # Only the page travels: the figures' files are deleted once it is written.
    path = write_report(report, folder / "report.html")
    for png in (loss, histogram, curves):
        png.unlink()
    return path


def test_report_loads_and_renders_whole(browser: HeadlessChromium, report_path: Path) -> None:
    check = browser.check(report_path)

    assert check.ok, "\n".join(check.problems())
    assert check.title == "Browser check <b>not bold</b>"
    assert check.images_total == 3
    assert check.images_rendered == 3
    assert check.console_errors == ()
    assert check.external_refs == ()
    assert check.missing_refs == ()


def test_screenshot_is_the_whole_page(
    browser: HeadlessChromium, report_path: Path, tmp_path: Path
) -> None:
    png = browser.screenshot(report_path, tmp_path / "shot.png", width=1280)

    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width == 1280
    assert height > 1500  # three figures and five cards do not fit in one screen


def test_check_finds_what_is_broken(browser: HeadlessChromium, tmp_path: Path) -> None:
    # The checks above must be able to fail: a page with each kind of fault.
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>broken</title>"
        '<link rel="stylesheet" href="missing.css"></head><body>'
        '<img src="gone.png" alt="gone picture">'
        '<img src="data:image/png;base64,AAAA" alt="bad data">'
        '<a href="#nowhere">dangling</a>'
        "<script>console.error('boom');</script>"
        "</body></html>",
        encoding="utf-8",
    )
    check = browser.check(page)

    assert not check.ok
    assert check.images_total == 2
    assert check.images_rendered == 0
    assert set(check.broken_images) == {"gone picture", "bad data"}
    assert any("boom" in error for error in check.console_errors)
    assert any("gone.png" in ref for ref in check.missing_refs)
    assert any("missing.css" in ref for ref in check.missing_refs)
    assert any("#nowhere" in ref for ref in check.missing_refs)
    assert len(check.external_refs) == 2  # the stylesheet and the image file
