"""The demo's own report, from a tiny real run, opened in headless Chromium."""

import dataclasses
import json

import pytest

from aelab.experiments.demo import DemoSettings, run_demo

pytestmark = pytest.mark.browser

TINY = DemoSettings(
    mnist_epochs=1,
    mnist_limit=300,
    signal_train=120,
    signal_val=100,
    signal_test=60,
    signal_epochs=1,
    progress_bar=False,
)


@pytest.fixture(scope="module", params=["plain", "variational"])
def demo_run(request, tmp_path_factory, shared_data):
    settings = dataclasses.replace(TINY, variant=request.param)
    return run_demo(tmp_path_factory.mktemp(request.param), settings)


def test_demo_writes_every_output(demo_run):
    run_dir = demo_run.run_dir
    results = json.loads((run_dir / "results.json").read_text())
    assert {"mnist", "signals", "data_checksums", "durations_s"} <= set(results)
    for folder in ("mnist/model", "signals/model"):
        assert (run_dir / folder / "model.safetensors").is_file()
        assert (run_dir / folder / "config.json").is_file()
    assert (run_dir / "mnist" / "logs" / "metrics.csv").is_file()


def test_demo_report_renders_whole_in_a_browser(demo_run, browser):
    check = browser.check(demo_run.report)
    variational = demo_run.results["settings"]["variant"] == "variational"
    assert check.images_total >= (16 if variational else 15)
    assert check.images_rendered == check.images_total, check.broken_images
    assert check.problems() == []
    assert check.title == "aelab demo"
