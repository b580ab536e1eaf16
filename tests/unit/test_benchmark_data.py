from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aelab.data import benchmarks
from aelab.data.benchmarks import (
    CWRU_FILES,
    SKAB_FEATURES,
    data_root,
    list_skab_runs,
    load_cwru,
    load_nab_series,
    load_skab_anomaly_free,
    load_skab_run,
)
from aelab.data.sensors import make_windows

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(benchmarks.DATA_DIR_ENV, raising=False)


def test_default_root_is_shared_data_beside_the_project(no_env):
    assert data_root() == ROOT.parent / "shared" / "data"


def test_root_argument_beats_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(benchmarks.DATA_DIR_ENV, str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"


def test_missing_data_says_where_it_looked_and_how_to_point_aelab(monkeypatch, tmp_path):
    monkeypatch.setenv(benchmarks.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        load_skab_anomaly_free()
    message = str(info.value)
    assert str(tmp_path / "skab" / "anomaly-free" / "anomaly-free.csv") in message
    assert "AELAB_DATA_DIR" in message and "root=" in message
    with pytest.raises(FileNotFoundError, match="CWRU file not found"):
        load_cwru("normal", root=tmp_path)


def test_skab_run(shared_data):
    run = load_skab_run("valve1/0", root=shared_data)
    assert run.values.shape == (1147, 8)
    assert run.values.dtype == np.float32
    assert run.features == list(SKAB_FEATURES)
    assert int(run.labels.sum()) == 401
    assert run.time[0] == pd.Timestamp("2020-03-09 10:14:33")
    assert run.time.is_monotonic_increasing
    # A path works as well as a name.
    same = load_skab_run(shared_data / "skab" / "valve1" / "0.csv")
    np.testing.assert_array_equal(same.values, run.values)


def test_skab_runs_are_listed_in_run_order(shared_data):
    runs = list_skab_runs(shared_data)
    assert len(runs) == 20
    assert [p.stem for p in runs[:16]] == [str(i) for i in range(16)]
    assert {p.parent.name for p in runs[16:]} == {"valve2"}
    assert len(list_skab_runs(shared_data, groups="valve2")) == 4
    with pytest.raises(FileNotFoundError, match="no SKAB runs"):
        list_skab_runs(shared_data, groups=("valve9",))


def test_every_skab_run_loads_with_one_anomaly_block(shared_data):
    for path in list_skab_runs(shared_data):
        run = load_skab_run(path)
        assert run.values.shape[1] == 8
        # One collective anomaly per run: the labels switch on once.
        assert np.count_nonzero(np.diff(run.labels) == 1) == 1, path


def test_skab_anomaly_free(shared_data):
    table = load_skab_anomaly_free(shared_data)
    assert table.values.shape == (9405, 8)
    assert table.labels is None


def test_nab_machine_temperature(shared_data):
    series = load_nab_series(root=shared_data)
    assert series.table.n_steps == 22_695
    assert series.table.features == ["value"]
    assert len(series.windows) == 4
    assert series.windows[0] == (pd.Timestamp("2013-12-10 06:25"), pd.Timestamp("2013-12-12 05:35"))
    # NAB's windows each span a tenth of the series split over the 4 windows: 567 rows.
    assert int(series.table.labels.sum()) == 4 * 567
    assert not series.table.time.is_monotonic_increasing  # the repeated hour is kept


def test_nab_unknown_series_lists_the_known_ones(shared_data):
    with pytest.raises(FileNotFoundError, match="nyc_taxi"):
        load_nab_series("no_such_series", root=shared_data)


def test_cwru_signals(shared_data):
    normal = load_cwru("normal", root=shared_data)
    assert normal.shape == (243_938,) and normal.dtype == np.float32
    assert load_cwru("B007", root=shared_data).shape == (244_739,)
    fan = load_cwru("IR007", root=shared_data, channel="FE")
    assert fan.shape == (243_938,)
    assert make_windows(normal, 1000, 1000).shape == (243, 1, 1000)
    with pytest.raises(ValueError, match="expected one of: " + ", ".join(CWRU_FILES)):
        load_cwru("OR007", root=shared_data)
    with pytest.raises(ValueError, match="unknown channel"):
        load_cwru("normal", root=shared_data, channel="XX")
