import json
import logging

import numpy as np
import pandas as pd
import pytest

from aelab.data.sensors import (
    EVENT_COLUMNS,
    ChannelScaler,
    Event,
    SensorDataError,
    events_to_frame,
    find_events,
    make_windows,
    overlap_average,
    read_table,
    window_labels,
    window_starts,
)

GOOD_CSV = """datetime;a;b;note;anomaly
2020-03-09 10:00:00;1.0;10;x;0
2020-03-09 10:00:01;2.0;20;y;0
2020-03-09 10:00:02;3.0;30;z;1
2020-03-09 10:00:03;4.0;40;w;1
"""


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------
# read_table: good files


def test_reads_semicolon_csv_with_time_labels_and_default_features(tmp_path):
    table = read_table(write(tmp_path, GOOD_CSV), time_column="datetime", label_column="anomaly")
    assert table.features == ["a", "b"]  # the text column is left out
    assert table.values.dtype == np.float32
    np.testing.assert_array_equal(table.values, [[1, 10], [2, 20], [3, 30], [4, 40]])
    assert isinstance(table.time, pd.DatetimeIndex)
    assert table.time[2] == pd.Timestamp("2020-03-09 10:00:02")
    assert table.labels.tolist() == [0, 0, 1, 1]
    assert table.n_steps == 4
    frame = table.to_frame()
    assert list(frame.columns) == ["a", "b", "label"]
    assert frame.index.equals(table.time)


def test_reads_comma_csv_without_time_and_keeps_the_requested_feature_order(tmp_path):
    table = read_table(write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n"), features=["c", "a"])
    assert table.features == ["c", "a"]
    np.testing.assert_array_equal(table.values, [[3, 1], [6, 4]])
    assert table.time is None and table.labels is None


def test_an_explicit_separator_wins_over_sniffing(tmp_path):
    path = write(tmp_path, "a|b\n1|2\n")
    assert read_table(path, sep="|").features == ["a", "b"]


def test_parquet_round_trip_matches_the_csv(tmp_path):
    csv = read_table(write(tmp_path, GOOD_CSV), time_column="datetime", label_column="anomaly")
    frame = pd.read_csv(tmp_path / "data.csv", sep=";", parse_dates=["datetime"])
    frame.to_parquet(tmp_path / "data.parquet")
    pq = read_table(tmp_path / "data.parquet", time_column="datetime", label_column="anomaly")
    assert pq.features == csv.features
    np.testing.assert_array_equal(pq.values, csv.values)
    assert pq.time.equals(csv.time)
    np.testing.assert_array_equal(pq.labels, csv.labels)


# ---------------------------------------------------------------------------------------
# read_table: bad files


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no sensor file"):
        read_table(tmp_path / "absent.csv")


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_empty_file(tmp_path, text):
    with pytest.raises(SensorDataError, match="is empty"):
        read_table(write(tmp_path, text))


def test_header_without_rows(tmp_path):
    with pytest.raises(SensorDataError, match="no data rows"):
        read_table(write(tmp_path, "a,b\n"))


def test_unparseable_csv(tmp_path):
    with pytest.raises(SensorDataError, match="cannot parse .* as CSV"):
        read_table(write(tmp_path, "a,b\n1,2\n3,4,5,6\n"))


def test_unknown_suffix(tmp_path):
    with pytest.raises(SensorDataError, match="unknown file type '.xlsx'"):
        read_table(write(tmp_path, "a,b\n1,2\n", name="data.xlsx"))


def test_broken_parquet(tmp_path):
    with pytest.raises(SensorDataError, match="as Parquet"):
        read_table(write(tmp_path, "not parquet", name="data.parquet"))


@pytest.mark.parametrize(
    "kwargs",
    [{"features": ["a", "nope"]}, {"time_column": "nope"}, {"label_column": "nope"}],
)
def test_missing_column_names_it_and_lists_the_columns(tmp_path, kwargs):
    with pytest.raises(SensorDataError) as info:
        read_table(write(tmp_path, GOOD_CSV), **kwargs)
    message = str(info.value)
    assert "'nope' not found" in message
    assert "'datetime', 'a', 'b', 'note', 'anomaly'" in message


def test_non_numeric_value_names_column_row_and_value(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,4\n5,oops\n7,8\n")
    with pytest.raises(SensorDataError, match=r"'b' .*'oops' at row 2"):
        read_table(path)


def test_nan_gaps_are_forward_then_back_filled_and_logged(tmp_path, caplog):
    path = write(tmp_path, "a,b\n,1\n2,\n,\n5,4\n")
    with caplog.at_level(logging.WARNING, logger="aelab.data.sensors"):
        table = read_table(path)
    # a: leading gap back-filled with 2, row 2 carries 2 forward; b: 1 carried forward.
    np.testing.assert_array_equal(table.values, [[2, 1], [2, 1], [2, 1], [5, 4]])
    assert "filled 4 missing value(s)" in caplog.text


def test_nan_gaps_can_be_interpolated(tmp_path):
    path = write(tmp_path, "a,b\n,0\n1,0\n,0\n,0\n4,0\n,0\n")
    table = read_table(path, fill_gaps="interpolate")
    np.testing.assert_allclose(table.values[:, 0], [1, 1, 2, 3, 4, 4])


def test_nan_gaps_can_be_refused(tmp_path):
    with pytest.raises(SensorDataError, match=r"1 missing value\(s\) .*'a' at row 1"):
        read_table(write(tmp_path, "a,b\n1,2\n,3\n"), fill_gaps="error")


def test_a_column_without_any_value_is_refused(tmp_path):
    with pytest.raises(SensorDataError, match="b of .* hold no value at all"):
        read_table(write(tmp_path, "a,b\n1,\n2,\n"))


def test_infinite_values_are_refused(tmp_path):
    with pytest.raises(SensorDataError, match=r"'a' .* holds inf at row 1"):
        read_table(write(tmp_path, "a\n1\ninf\n"))
    with pytest.raises(SensorDataError, match=r"holds 1e\+39 at .*float32"):
        read_table(write(tmp_path, "a\n1\n1e39\n"))


def test_duplicate_timestamps_are_refused_with_the_first_one(tmp_path):
    text = "t,a\n2020-01-01 00:00,1\n2020-01-01 00:01,2\n2020-01-01 00:01,3\n"
    path = write(tmp_path, text)
    for order in ("strict", "sort"):
        with pytest.raises(SensorDataError, match="2020-01-01 00:01:00 at row 2 repeats row 1"):
            read_table(path, time_column="t", time_order=order)
    assert read_table(path, time_column="t", time_order="keep").n_steps == 3


def test_unsorted_timestamps_are_refused_sorted_or_kept(tmp_path, caplog):
    text = "t,a,y\n2020-01-01 00:02,3,1\n2020-01-01 00:00,1,0\n2020-01-01 00:01,,0\n"
    path = write(tmp_path, text)
    with pytest.raises(SensorDataError, match="time goes backwards at row 1"):
        read_table(path, time_column="t", label_column="y")

    with caplog.at_level(logging.WARNING, logger="aelab.data.sensors"):
        table = read_table(path, time_column="t", label_column="y", time_order="sort")
    assert "rows sorted by time" in caplog.text
    assert table.time.is_monotonic_increasing
    # Rows move with their time, and the gap is filled in time order (from 1, not 3).
    np.testing.assert_array_equal(table.values[:, 0], [1, 1, 3])
    assert table.labels.tolist() == [0, 0, 1]

    kept = read_table(path, time_column="t", label_column="y", time_order="keep")
    np.testing.assert_array_equal(kept.values[:, 0], [3, 1, 1])


def test_missing_time_steps_are_logged_with_the_first_row(tmp_path, caplog):
    minutes = [0, 1, 2, 5, 6, 7, 9]
    rows = "".join(f"2020-01-01 00:{m:02d},{m}\n" for m in minutes)
    path = write(tmp_path, "t,a\n" + rows)
    with caplog.at_level(logging.WARNING, logger="aelab.data.sensors"):
        table = read_table(path, time_column="t")
    assert table.n_steps == 7
    assert "2 time step(s) longer than the usual 00:01:00 (about 3 reading(s) missing), the " in (
        caplog.text
    )
    assert "first at row 3 (2020-01-01 00:05:00 after 2020-01-01 00:02:00)" in caplog.text

    caplog.clear()
    regular = write(tmp_path, "t,a\n" + "".join(f"2020-01-01 00:0{m},{m}\n" for m in range(5)))
    with caplog.at_level(logging.WARNING, logger="aelab.data.sensors"):
        read_table(regular, time_column="t")
    assert "longer than the usual" not in caplog.text


def test_unparseable_timestamp_names_the_row(tmp_path):
    path = write(tmp_path, "t,a\n2020-01-01 00:00,1\nyesterday,2\n")
    with pytest.raises(SensorDataError, match="'yesterday' at row 1"):
        read_table(path, time_column="t")


@pytest.mark.parametrize("bad", ["2", "", "yes"])
def test_labels_other_than_0_and_1_are_refused(tmp_path, bad):
    path = write(tmp_path, f"a,y\n1,0\n2,{bad}\n")
    with pytest.raises(SensorDataError, match="at row 1 .*expected 0 .* or 1"):
        read_table(path, label_column="y")


def test_a_constant_column_is_kept_with_a_warning_and_scaled_to_zero(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="aelab.data.sensors"):
        table = read_table(write(tmp_path, "a,b\n1,5\n2,5\n3,5\n"))
    assert "constant column(s) b" in caplog.text
    scaled = ChannelScaler().fit(table.values).transform(table.values)
    np.testing.assert_array_equal(scaled[:, 1], 0)
    assert np.isfinite(scaled).all()


def test_bad_options_are_refused(tmp_path):
    path = write(tmp_path, GOOD_CSV)
    with pytest.raises(ValueError, match="unknown fill_gaps"):
        read_table(path, fill_gaps="zero")
    with pytest.raises(SensorDataError, match="both a feature and"):
        read_table(path, features=["a", "anomaly"], label_column="anomaly")


# ---------------------------------------------------------------------------------------
# Scaling


def test_scaler_is_fitted_on_training_rows_only():
    rng = np.random.default_rng(0)
    series = rng.normal(5.0, 2.0, size=(500, 3)).astype(np.float32)
    series[400:] += 10.0  # the test rows drift
    scaler = ChannelScaler().fit(series[:400])
    np.testing.assert_allclose(scaler.mean_, series[:400].astype(np.float64).mean(axis=0))
    train = scaler.transform(series[:400])
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(train.std(axis=0), 1, atol=1e-5)
    assert (scaler.transform(series[400:]).mean(axis=0) > 3).all()  # drift stays visible
    np.testing.assert_allclose(scaler.inverse_transform(train), series[:400], atol=1e-5)


def test_scaler_json_round_trip_is_identical():
    series = np.random.default_rng(1).normal(size=(200, 4)).astype(np.float32)
    scaler = ChannelScaler().fit(series)
    restored = ChannelScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(restored.mean_, scaler.mean_)
    np.testing.assert_array_equal(restored.scale_, scaler.scale_)
    np.testing.assert_array_equal(restored.transform(series), scaler.transform(series))
    np.testing.assert_array_equal(
        restored.inverse_transform(series), scaler.inverse_transform(series)
    )


def test_scaler_scales_windows_per_channel_like_rows():
    series = np.random.default_rng(2).normal(size=(50, 2)).astype(np.float32)
    scaler = ChannelScaler().fit(series)
    windows = make_windows(series, 10, 5)
    expected = make_windows(scaler.transform(series), 10, 5)
    np.testing.assert_allclose(scaler.transform(windows), expected, rtol=1e-6)


def test_scaler_keeps_dataframe_names_and_checks_channels_and_fitting():
    frame = pd.DataFrame({"p": [1.0, 2.0, 3.0], "q": [0.0, 1.0, 0.0]})
    scaler = ChannelScaler().fit(frame)
    assert scaler.to_dict()["feature_names"] == ["p", "q"]
    with pytest.raises(ValueError, match="fitted on 2 channel"):
        scaler.transform(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="not fitted"):
        ChannelScaler().transform(np.zeros((4, 2)))
    with pytest.raises(SensorDataError, match="NaN"):
        ChannelScaler().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="lacks"):
        ChannelScaler.from_dict({"mean": [0.0]})


# ---------------------------------------------------------------------------------------
# Windows


def test_windows_shape_starts_and_no_copy():
    series = np.arange(40, dtype=np.float32).reshape(20, 2)  # (T, C)
    windows = make_windows(series, 5, 3)
    assert windows.shape == (6, 2, 5)  # (20 - 5) // 3 + 1
    assert window_starts(20, 5, 3).tolist() == [0, 3, 6, 9, 12, 15]
    assert np.shares_memory(windows, series)
    np.testing.assert_array_equal(windows[1, 1], series[3:8, 1])


def test_one_dimensional_signal_is_one_channel():
    assert make_windows(np.zeros(100), 10, 10).shape == (10, 1, 10)


def test_too_few_rows_for_one_window():
    with pytest.raises(SensorDataError, match="too few rows for one window: got 3 rows, need 5"):
        make_windows(np.zeros((3, 2)), 5)


def test_window_arguments_and_values_are_checked():
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        window_starts(10, 5, 0)
    with pytest.raises(SensorDataError, match="first at row 2"):
        make_windows(np.array([1.0, 2.0, np.nan, 4.0]), 2)


def test_cover_tail_adds_one_window_ending_at_the_last_step():
    assert window_starts(10, 4, 3).tolist() == [0, 3, 6]  # step 9 is left over
    assert window_starts(10, 4, 3, cover_tail=True).tolist() == [0, 3, 6]
    assert window_starts(11, 4, 3, cover_tail=True).tolist() == [0, 3, 6, 7]
    series = np.arange(11, dtype=np.float32)
    assert make_windows(series, 4, 3, cover_tail=True)[-1, 0].tolist() == [7, 8, 9, 10]


@pytest.mark.parametrize(("length", "stride"), [(8, 1), (8, 3), (5, 5), (7, 4)])
def test_windows_of_a_ramp_fold_back_to_the_ramp(length, stride):
    n_steps = 50
    ramp = np.stack([np.arange(n_steps), -2.5 * np.arange(n_steps)], axis=1).astype(np.float32)
    starts = window_starts(n_steps, length, stride, cover_tail=True)
    windows = make_windows(ramp, length, stride, cover_tail=True)
    folded = overlap_average(windows, starts, n_steps)
    assert folded.dtype == np.float32
    np.testing.assert_array_equal(folded, ramp)


def test_fold_leaves_uncovered_steps_nan():
    ramp = np.arange(11, dtype=np.float32)
    folded = overlap_average(make_windows(ramp, 4, 3)[:, 0], window_starts(11, 4, 3), 11)
    np.testing.assert_array_equal(folded[:10], ramp[:10])
    assert np.isnan(folded[10])


def test_fold_averages_the_windows_covering_each_step():
    # Two windows of length 3 at starts 0 and 1; the second says 4 where the first says 1.
    per_window = np.array([[1.0, 1.0, 1.0], [4.0, 4.0, 4.0]])
    folded = overlap_average(per_window, np.array([0, 1]), 4)
    np.testing.assert_allclose(folded, [1.0, 2.5, 2.5, 4.0])


def test_fold_refuses_windows_past_the_series():
    with pytest.raises(ValueError, match="do not fit in 4 time steps"):
        overlap_average(np.zeros((2, 3)), np.array([0, 2]), 4)


def test_window_labels_rules():
    labels = np.array([0, 0, 1, 1, 1, 0])
    assert window_labels(labels, 3, 1, rule="any").tolist() == [1, 1, 1, 1]
    assert window_labels(labels, 3, 1, rule="all").tolist() == [0, 0, 1, 0]
    assert window_labels(labels, 3, 1, rule="majority").tolist() == [0, 1, 1, 1]
    assert window_labels(labels, 3, 1, rule="last").tolist() == [1, 1, 1, 0]
    assert window_labels(labels, 4, 2).tolist() == [1, 1]
    with pytest.raises(SensorDataError, match="labels must be 0 or 1"):
        window_labels(np.array([0, 2, 0]), 2)


# ---------------------------------------------------------------------------------------
# Events

SCORES = np.array([0, 0, 3, 5, 3, 0, 0, 2, 2, 0, 4, 4, 1, 6], dtype=np.float64)


def test_events_from_a_known_score_series():
    events = find_events(SCORES, threshold=2.0)
    # Steps 7-8 equal the threshold: normal. Ties of the peak take the first step.
    assert [(e.start, e.end, e.peak_index, e.peak_score) for e in events] == [
        (2, 4, 3, 5.0),
        (10, 11, 10, 4.0),
        (13, 13, 13, 6.0),
    ]
    assert events[0].n_steps == 3
    assert events[0].start_time is None and events[0].top_features == ()


def test_events_merge_across_short_gaps():
    merged = find_events(SCORES, 2.0, min_gap=1)
    assert [(e.start, e.end) for e in merged] == [(2, 4), (10, 13)]
    assert [(e.start, e.end) for e in find_events(SCORES, 2.0, min_gap=5)] == [(2, 13)]
    assert find_events(np.zeros(5), 0.0) == []


def test_events_carry_times_and_top_features():
    time = pd.date_range("2024-01-01", periods=SCORES.size, freq="min")
    contributions = np.zeros((SCORES.size, 3))
    contributions[2:5] = [0.1, 2.0, 1.0]
    contributions[10:12] = [3.0, 0.0, 0.5]
    events = find_events(
        SCORES,
        2.0,
        time=time,
        contributions=contributions,
        feature_names=["flow", "pressure", "current"],
        top_k=2,
    )
    assert events[0].start_time == time[2] and events[0].end_time == time[4]
    assert events[0].top_features == ("pressure", "current")
    assert events[1].top_features == ("flow", "current")


def test_events_refuse_nan_scores_and_mismatched_lengths():
    with pytest.raises(ValueError, match="first at step 1"):
        find_events(np.array([0.0, np.nan]), 1.0)
    with pytest.raises(ValueError, match="expected 3 timestamps"):
        find_events(np.zeros(3), 1.0, time=pd.date_range("2024-01-01", periods=2))
    with pytest.raises(ValueError, match="expected 2 feature names"):
        find_events(np.zeros(3), 1.0, contributions=np.zeros((3, 2)), feature_names=["a"])


def test_events_to_frame(tmp_path):
    time = pd.date_range("2024-01-01", periods=SCORES.size, freq="min")
    events = find_events(
        SCORES, 2.0, time=time, contributions=np.ones((SCORES.size, 2)), feature_names=["x", "y"]
    )
    frame = events_to_frame(events)
    assert list(frame.columns) == list(EVENT_COLUMNS)
    assert frame["start"].tolist() == [2, 10, 13]
    assert frame["n_steps"].tolist() == [3, 2, 1]
    assert frame["top_features"].iloc[0] == "x; y"
    frame.to_csv(tmp_path / "events.csv", index=False)
    back = pd.read_csv(tmp_path / "events.csv", parse_dates=["start_time", "end_time"])
    assert back["start_time"].iloc[1] == time[10]
    json.loads(frame.to_json(orient="records", date_format="iso"))

    empty = events_to_frame([])
    assert list(empty.columns) == list(EVENT_COLUMNS) and len(empty) == 0
    assert isinstance(events[0], Event)
