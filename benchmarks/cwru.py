"""CWRU bearings: trained on 1,000-sample windows of the healthy bearing, tested on held-out
healthy windows and on the inner-race (IR007) and ball (B007) faults.

The drive-end signals at 48 kHz, 0 hp, are cut into windows of 1,000 samples without
overlap. The first 70 % of the healthy signal is the training data (the scaler is fitted
on it; its last fifth holds out windows for early stopping and the threshold); the rest
of the healthy signal gives the normal test windows. Every fault window is scored.
Every method sees the same windows and takes its threshold as the 99th percentile of its
scores on the held-out healthy training windows. ROC-AUC and F1 are computed per fault on
the normal test windows plus that fault's windows.

Usage: python benchmarks/cwru.py [--epochs 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pandas as pd
from sensor_common import BASELINES, baseline_step_scores, setup, write_results
from sklearn.metrics import roc_auc_score

from aelab.data.benchmarks import load_cwru
from aelab.data.sensors import make_windows
from aelab.detection import SensorDetector
from aelab.metrics import classification_figures

WINDOW = 1000
TRAIN_SHARE = 0.7
VALIDATION_SHARE = 0.2
FAULTS = ("IR007", "B007")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--pyod-epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    setup()
    start = time.perf_counter()

    normal = load_cwru("normal")
    n_train = int(len(normal) * TRAIN_SHARE) // WINDOW * WINDOW
    signals = {"normal": normal[n_train:], **{f: load_cwru(f) for f in FAULTS}}

    # The autoencoder: the reference Conv1D network, one channel, windows of 1,000.
    with tempfile.TemporaryDirectory() as logs:
        detector = SensorDetector(
            window=WINDOW,
            stride=WINDOW,
            train_config={
                "max_epochs": args.epochs,
                "batch_size": 16,
                "patience": 5,
                "progress_bar": False,
                "seed": args.seed,
            },
            validation_share=VALIDATION_SHARE,
            log_dir=logs,
        ).fit(normal[:n_train])
    scores = {"aelab Conv1D AE": {k: detector.score(v).window_scores for k, v in signals.items()}}
    thresholds = {"aelab Conv1D AE": detector.window_threshold_}

    # The baselines, on the same windows of the same scaled signal.
    training = make_windows(detector.transform(normal[:n_train]), WINDOW, WINDOW)  # (N, 1, L)
    n_fit = len(training) - int(round(len(training) * VALIDATION_SHARE))
    tests = {k: make_windows(detector.transform(v), WINDOW, WINDOW) for k, v in signals.items()}
    everything = np.concatenate([training[n_fit:], *tests.values()])
    per_window = {
        name: values.mean(axis=1)  # (N, L) -> (N,)
        for name, values in baseline_step_scores(
            training[:n_fit], everything, pca_components=16, pyod_epochs=args.pyod_epochs
        ).items()
    }
    for name in BASELINES:
        held_out, rest = np.split(per_window[name], [len(training) - n_fit])
        cuts = np.cumsum([len(t) for t in tests.values()])[:-1]
        scores[name] = dict(zip(tests, np.split(rest, cuts), strict=True))
        thresholds[name] = float(np.percentile(held_out, 99))

    rows = []
    for name, by_signal in scores.items():
        row = {"method": name}
        for fault in FAULTS:
            labels = np.r_[np.zeros(len(by_signal["normal"])), np.ones(len(by_signal[fault]))]
            values = np.r_[by_signal["normal"], by_signal[fault]]
            figures = classification_figures(labels, values, thresholds[name])
            row[f"{fault} ROC-AUC"] = round(roc_auc_score(labels, values), 4)
            row[f"{fault} F1"] = round(figures["f1"], 3)
        row["normal FAR %"] = round(100 * np.mean(by_signal["normal"] > thresholds[name]), 1)
        rows.append(row)
    table = pd.DataFrame(rows)
    counts = ", ".join(f"{k} {len(v)}" for k, v in tests.items())
    title = (
        f"CWRU drive end, 48 kHz, 0 hp: windows of {WINDOW} samples; trained on "
        f"{n_fit} healthy windows, threshold from {len(training) - n_fit}; test windows: {counts}"
    )
    notes = [f"wall time: {time.perf_counter() - start:.0f} s"]
    print(write_results(table, "cwru", title, notes))


if __name__ == "__main__":
    main()
