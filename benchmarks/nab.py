"""NAB machine temperature: event-level precision and recall against the four labelled
windows, and the number of false alarms.

The series (22,695 readings every 5 minutes, one sensor) is scored whole. The first
--train-days days are the training data (the scaler is fitted on them; their last fifth
holds out steps for early stopping and the threshold); the first labelled window starts
7.4 days in, so the default week of training holds no labelled reading. Every method sees
the same windows and takes its threshold as the --q-th percentile of its per-step scores
on the held-out training steps; runs of steps above it that lie at most --min-gap steps
apart make one event (one alarm). On the steps after the training days:

- an event that overlaps a labelled window is a true alarm, any other a false alarm;
- precision = true alarms / all alarms; recall = labelled windows overlapped / 4.

Usage: python benchmarks/nab.py [--window 64] [--stride 4] [--min-gap 288]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pandas as pd
from sensor_common import baseline_step_scores, fold, setup, write_results

from aelab.data.benchmarks import load_nab_series
from aelab.data.sensors import find_events, make_windows, window_starts
from aelab.detection import SensorDetector, ThresholdSpec

STEPS_PER_DAY = 288  # one reading every 5 minutes
VALIDATION_SHARE = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--train-days", type=float, default=7.0)
    parser.add_argument("--q", type=float, default=99.5)
    parser.add_argument("--min-gap", type=int, default=STEPS_PER_DAY)
    parser.add_argument("--pyod-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    setup()
    start = time.perf_counter()

    series = load_nab_series()
    table = series.table
    frame = pd.DataFrame({"value": table.values[:, 0]}, index=table.time)
    n_train = int(args.train_days * STEPS_PER_DAY)
    n_fit = n_train - int(round(n_train * VALIDATION_SHARE))

    with tempfile.TemporaryDirectory() as logs:
        detector = SensorDetector(
            window=args.window,
            stride=args.stride,
            model_config={"channels": [16, 8], "latent_channels": 4},
            train_config={
                "max_epochs": args.epochs,
                "batch_size": 32,
                "patience": 5,
                "progress_bar": False,
                "seed": args.seed,
            },
            threshold=ThresholdSpec("percentile", q=args.q),
            validation_share=VALIDATION_SHARE,
            min_gap=args.min_gap,
            log_dir=logs,
        ).fit(frame.iloc[:n_train])
    steps = {"aelab Conv1D AE": (detector.score(frame).scores, detector.threshold_)}

    # The baselines, on the same windows of the same scaled series.
    prepared = detector.transform(frame)
    windows = make_windows(prepared, args.window, args.stride, cover_tail=True)
    starts = window_starts(len(prepared), args.window, args.stride, cover_tail=True)
    fit_windows = make_windows(prepared[:n_fit], args.window, args.stride, cover_tail=True)
    for name, values in baseline_step_scores(
        fit_windows, windows, pca_components=8, pyod_epochs=args.pyod_epochs, seed=args.seed
    ).items():
        scores = fold(values, starts, len(prepared))
        steps[name] = (scores, float(np.percentile(scores[n_fit:n_train], args.q)))

    labelled = [np.flatnonzero((table.time >= a) & (table.time <= b)) for a, b in series.windows]
    rows = []
    for name, (scores, threshold) in steps.items():
        events = find_events(scores[n_train:], threshold, min_gap=args.min_gap)
        spans = [(e.start + n_train, e.end + n_train) for e in events]
        hits = [any(s <= w[-1] and e >= w[0] for w in labelled) for s, e in spans]
        found = [any(s <= w[-1] and e >= w[0] for s, e in spans) for w in labelled]
        rows.append(
            {
                "method": name,
                "alarms": len(spans),
                "true alarms": int(sum(hits)),
                "false alarms": len(spans) - int(sum(hits)),
                "precision": round(sum(hits) / len(spans), 3) if spans else float("nan"),
                "recall": round(float(np.mean(found)), 3),
                "windows found": "".join("x" if f else "." for f in found),
            }
        )
    table_out = pd.DataFrame(rows)
    title = (
        f"NAB machine_temperature_system_failure: trained on the first {n_train} readings "
        f"({args.train_days:g} days), scored on the other {len(frame) - n_train}; windows of "
        f"{args.window} steps, stride {args.stride}; threshold: {args.q:g}th percentile of "
        f"held-out training steps; events merged across gaps of up to {args.min_gap} steps"
    )
    notes = [
        "windows found: one mark per labelled window in time order, x = overlapped by an alarm;",
        "an alarm that overlaps two windows counts once among the true alarms.",
        f"wall time: {time.perf_counter() - start:.0f} s",
    ]
    print(write_results(table_out, "nab", title, notes))


if __name__ == "__main__":
    main()
