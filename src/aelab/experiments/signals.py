"""Synthetic signals: train the Conv1D detector on normal signals, assess it honestly."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aelab.data.synthetic import SignalDataset
from aelab.detection import AutoencoderDetector, ThresholdSpec, fit_threshold
from aelab.results import is_main_process, write_results
from aelab.training import TrainConfig

log = logging.getLogger(__name__)

#: Settings for the reference signal network (5,217 parameters) on 1,000-step signals.
SIGNAL_TRAIN_CONFIG = TrainConfig(
    loss="mse", max_epochs=15, batch_size=64, learning_rate=3e-3, schedule="onecycle", patience=5
)

SEVERITY_BANDS = (0.0, 0.25, 0.5, 0.75, 1.0)

#: The classification figures shown in tables, in order; tp/fp/fn/tn is the confusion matrix.
SUMMARY_COLUMNS = (
    "method",
    "roc_auc",
    "pr_auc",
    "precision",
    "recall",
    "f1",
    "tp",
    "fp",
    "fn",
    "tn",
)


def train_detector(
    dataset: SignalDataset,
    out_dir: str | Path,
    *,
    model: str = "signal_ae",
    model_options: dict[str, Any] | None = None,
    train_config: TrainConfig | None = None,
    threshold: ThresholdSpec | None = None,
) -> AutoencoderDetector:
    """Fit the detector on the normal training signals, threshold on the validation ones.

    Writes the model folder ``out_dir/model`` and the logs ``out_dir/logs``; the worker
    processes of a multi-process run write nothing.
    """
    out_dir = Path(out_dir)
    detector = AutoencoderDetector(
        model=model,
        model_config=model_options,
        train_config=train_config or SIGNAL_TRAIN_CONFIG,
        threshold=threshold,
        log_dir=out_dir / "logs",
    ).fit(dataset.train, X_val=dataset.val)
    if not is_main_process():
        return detector
    detector.history_.to_csv(out_dir / "history.csv", index=False)
    detector.save(out_dir / "model")
    return detector


def baseline_scores(
    dataset: SignalDataset, seed: int = 0, pca_components: int = 16
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Isolation Forest and PCA reconstruction error fitted on the same normal signals.

    Returns:
        Method name to (validation scores, test scores).
    """
    from aelab.metrics import isolation_forest_scores, pca_scores

    both = np.concatenate([dataset.val, dataset.test])
    n_val = len(dataset.val)
    forest = isolation_forest_scores(dataset.train, both, seed=seed)
    pca = pca_scores(dataset.train, both, pca_components, seed=seed)
    return {
        "Isolation Forest": (forest[:n_val], forest[n_val:]),
        f"PCA ({pca_components} components)": (pca[:n_val], pca[n_val:]),
    }


def check_both_classes(labels: np.ndarray) -> None:
    """Refuse test labels of one class: ROC, PR, precision and recall need both."""
    n_anomalies = int(np.sum(labels))
    if n_anomalies in (0, len(labels)):
        kind = "anomalous" if n_anomalies else "normal"
        raise ValueError(
            f"the test set holds {len(labels)} signals, all {kind}; measuring a detector "
            "needs both normal and anomalous test signals (`aelab signals generate` writes "
            "both unless --anomaly-share is 0 or 1)"
        )


def evaluate_detector(
    detector: AutoencoderDetector,
    dataset: SignalDataset,
    out_dir: str | Path,
    *,
    name: str = "signals",
    baselines: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Classify the test signals and measure it: every figure, baselines, plots, results JSON.

    Every method's threshold is chosen by the detector's own strategy on that method's
    validation-normal scores, so the comparison is like for like.

    Returns:
        The results, also written to ``out_dir/results.json``.

    Raises:
        ValueError: when the test signals are all normal or all anomalous; nothing is written.
    """
    from aelab import plots
    from aelab.metrics import classification_figures, recall_by_group
    from aelab.plots.signals import SignalExample

    labels = dataset.test_labels
    check_both_classes(labels)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scored = detector.score(dataset.test)
    scores = scored.scores
    threshold = detector.threshold_

    # The detector and the baselines, each thresholded the same way.
    rows = [{"method": "autoencoder", **classification_figures(labels, scores, threshold)}]
    curves = {"autoencoder": scores}
    if baselines:
        for method, (val, test) in baseline_scores(dataset, seed=seed).items():
            cut = fit_threshold(val, detector.threshold_spec_)
            rows.append({"method": method, **classification_figures(labels, test, cut)})
            curves[method] = test
    table = pd.DataFrame(rows)
    table.to_csv(out_dir / "classification.csv", index=False)

    # Recall per anomaly kind, and per severity band.
    by_kind = recall_by_group(labels, scores, threshold, dataset.test_kinds, "kind")
    bands = pd.cut(dataset.test_severity, SEVERITY_BANDS, include_lowest=True).astype(str)
    by_severity = recall_by_group(labels, scores, threshold, bands, "severity")
    for method, values in list(curves.items())[1:]:
        cut = table.loc[table["method"] == method, "threshold"].item()
        by_kind[method] = recall_by_group(labels, values, cut, dataset.test_kinds, "kind")["recall"]

    # Figures: score histogram, ROC/PR, examples of each outcome, loss curves.
    fig_dir = out_dir / "figures"
    figures = {
        "histogram": plots.score_histogram(
            scores, labels, threshold, fig_dir / f"{name}_scores.png", "Autoencoder scores"
        ),
        "roc_pr": plots.roc_pr_curves(labels, curves, fig_dir / f"{name}_roc_pr.png"),
    }
    predicted = scores > threshold
    outcomes = {
        "true_positives": (predicted & (labels == 1), "true positive"),
        "false_positives": (predicted & (labels == 0), "false positive"),
        "false_negatives": (~predicted & (labels == 1), "false negative"),
    }
    rebuilt = detector.reconstruct(dataset.test)
    for key, (which, label) in outcomes.items():
        picks = np.flatnonzero(which)[:3]
        examples = [
            SignalExample(
                f"{label}: signal {i} ({dataset.test_kinds[i]}), score {scores[i]:.3g} "
                f"vs threshold {threshold:.3g}",
                dataset.test[i, 0],
                rebuilt[i, 0],
                scored.errors[i].mean(axis=0),
                dataset.test_masks[i],
            )
            for i in picks
        ]
        figures[key] = plots.signal_examples(examples, fig_dir / f"{name}_{key}.png", label + "s")
    if getattr(detector, "history_", None) is not None and len(detector.history_):
        figures["loss_curves"] = plots.loss_curves(
            detector.history_, fig_dir / f"{name}_loss_curves.png", "Signal autoencoder"
        )

    results = {
        "experiment": name,
        "n_test": int(len(labels)),
        "n_anomalies": int(labels.sum()),
        "threshold": float(threshold),
        "threshold_strategy": detector.threshold_spec_.strategy,
        "classification": table.to_dict(orient="records"),
        "recall_by_kind": by_kind.to_dict(orient="records"),
        "recall_by_severity": by_severity.to_dict(orient="records"),
        "figures": {k: str(v) for k, v in figures.items()},
    }
    write_results(out_dir / f"{name}_results.json", results)
    ae = rows[0]
    log.info(
        "%s: ROC-AUC %.4f, F1 %.4f, precision %.4f, recall %.4f at threshold %.4g",
        name,
        ae["roc_auc"],
        ae["f1"],
        ae["precision"],
        ae["recall"],
        threshold,
    )
    return results
