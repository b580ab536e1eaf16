"""The main job: both experiments on real data, one run folder, one HTML report."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from aelab.results import new_run_dir, write_results

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSettings:
    """What the demo trains, and for how long.

    Attributes:
        mnist_epochs: epochs of the image autoencoder (early stopping may end sooner).
        mnist_limit: keep only this many images per split (``None``: all 48,000 / 12,000 /
            10,000).
        latent_dim: latent size of the image autoencoder; 2 makes the latent space a map.
        signal_train: normal training signals.
        signal_val: normal validation signals (the threshold is their 99th percentile).
        signal_test: test signals, half of them abnormal.
        signal_epochs: epochs of the signal autoencoder.
        seed: one seed for splits, weights, shuffling and signals.
        mnist_dir: folder of the MNIST files; ``None`` searches where ``load_mnist`` does.
        download: download MNIST when it is found nowhere.
        accelerator: Lightning accelerator (``auto`` takes a GPU when there is one).
        devices: ``auto`` or 1: the demo trains on one device (a GPU when ``accelerator``
            finds one).
        progress_bar: show training progress bars.
        variant: ``plain``, ``denoising``, ``sparse`` or ``variational``, for both networks.
    """

    mnist_epochs: int = 8
    mnist_limit: int | None = None
    latent_dim: int = 2
    signal_train: int = 2000
    signal_val: int = 500
    signal_test: int = 1000
    signal_epochs: int = 30
    seed: int = 0
    mnist_dir: str | None = None
    download: bool = False
    accelerator: str = "auto"
    devices: int | str = "auto"
    progress_bar: bool = True
    variant: str = "plain"


#: A smoke run of a minute or two with the same outputs.
QUICK = DemoSettings(
    mnist_epochs=1,
    mnist_limit=2000,
    signal_train=300,
    signal_val=200,
    signal_test=300,
    signal_epochs=4,
)


class DemoResult(NamedTuple):
    """Where the demo wrote its run, and what it measured."""

    run_dir: Path
    report: Path
    results: dict[str, Any]


class _Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        log.info("== %s", step)
        start = time.perf_counter()
        yield
        self.seconds[step] = round(time.perf_counter() - start, 1)
        log.info("== %s done in %.0f s", step, self.seconds[step])


def run_demo(out_dir: str | Path | None = None, settings: DemoSettings | None = None) -> DemoResult:
    """Train and assess both autoencoders, then write the report.

    Args:
        out_dir: the run folder, new or empty; a new dated folder under ``runs/`` by default.
        settings: what to train; :class:`DemoSettings` defaults take about six minutes on
            two idle CPU cores, :data:`QUICK` a minute or two.

    Returns:
        The run folder, the report's path and every figure measured.

    Raises:
        FileExistsError: ``out_dir`` already holds files.
    """
    from aelab.data.mnist import load_mnist
    from aelab.data.synthetic import list_anomaly_kinds, make_signal_dataset
    from aelab.experiments.mnist import (
        MNIST_TRAIN_CONFIG,
        evaluate_mnist,
        plot_mnist,
        train_mnist,
        training_noise,
    )
    from aelab.experiments.signals import SIGNAL_TRAIN_CONFIG, evaluate_detector, train_detector
    from aelab.training.variants import apply_variant

    settings = settings or DemoSettings()
    # NOTE: the demo trains two networks in one program, which Lightning's multi-process
    # strategies do not support; `aelab mnist train --devices N` trains on several.
    if settings.devices not in ("auto", 1):
        raise ValueError(
            f"the demo trains on one device; got devices={settings.devices!r}. Train on "
            "several with `aelab mnist train --devices N`"
        )
    run_dir = new_run_dir(out_dir, "demo")
    clock = _Stopwatch()
    devices = {
        "accelerator": settings.accelerator,
        "devices": 1,
        "progress_bar": settings.progress_bar,
        "seed": settings.seed,
    }

    # Settings are checked before the data is read, and the data before a folder is made.
    image_model, mnist_config = apply_variant(
        settings.variant,
        "image_ae",
        dataclasses.replace(MNIST_TRAIN_CONFIG, max_epochs=settings.mnist_epochs, **devices),
    )
    noise = training_noise(mnist_config)

    # Image autoencoder on MNIST.
    with clock("MNIST: load"):
        splits = load_mnist(
            settings.mnist_dir,
            seed=settings.seed,
            download=settings.download,
            limit=settings.mnist_limit,
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    with clock("MNIST: train"):
        mnist_run = train_mnist(
            splits,
            run_dir / "mnist",
            model=image_model,
            model_options={"latent_dim": settings.latent_dim},
            train_config=mnist_config,
        )
    with clock("MNIST: evaluate and plot"):
        mnist_results = evaluate_mnist(
            mnist_run.network, splits, run_dir / "mnist", noise=noise, seed=settings.seed
        )
        mnist_figures = plot_mnist(
            mnist_run.network,
            splits,
            run_dir / "mnist" / "figures",
            history=mnist_run.fit.history,
            noise=noise,
            seed=settings.seed,
        )
    mnist_results.update(
        epochs=mnist_run.fit.epochs,
        train_seconds=round(mnist_run.fit.seconds, 1),
        seconds_per_epoch=round(mnist_run.fit.seconds / max(mnist_run.fit.epochs, 1), 1),
        n_train=len(splits.train_labels),
        n_val=len(splits.val_labels),
    )

    # Signal detector on synthetic signals: the classic recipe, then every anomaly kind.
    signal_model, signal_config = apply_variant(
        settings.variant,
        "signal_ae",
        dataclasses.replace(SIGNAL_TRAIN_CONFIG, max_epochs=settings.signal_epochs, **devices),
    )
    with clock("Signals: generate"):
        classic = make_signal_dataset(
            settings.signal_train, settings.signal_val, settings.signal_test, seed=settings.seed
        )
        mixed = make_signal_dataset(
            settings.signal_train,
            settings.signal_val,
            settings.signal_test,
            kinds=tuple(list_anomaly_kinds()),
            severity=(0.2, 1.0),
            seed=settings.seed + 1,
        )
    with clock("Signals: train"):
        detector = train_detector(
            classic, run_dir / "signals", model=signal_model, train_config=signal_config
        )
    with clock("Signals: evaluate and plot"):
        classic_results = evaluate_detector(
            detector, classic, run_dir / "signals", name="classic", seed=settings.seed
        )
        mixed_results = evaluate_detector(
            detector, mixed, run_dir / "signals", name="all_kinds", seed=settings.seed
        )

    results = {
        "settings": dataclasses.asdict(settings),
        "mnist": {**mnist_results, "figures": {k: str(v) for k, v in mnist_figures.items()}},
        "signals": {
            "train_seconds": round(detector.fit_seconds_, 1),
            "epochs": len(detector.history_),
            "threshold": detector.threshold_,
            "classic": classic_results,
            "all_kinds": mixed_results,
        },
        "data_source": str(splits.source),
        "data_checksums": splits.checksums,
        "durations_s": clock.seconds,
    }
    write_results(run_dir / "results.json", results)
    with clock("Report"):
        report = write_demo_report(run_dir, results, mnist_config, signal_config)
    results["durations_s"] = clock.seconds
    write_results(run_dir / "results.json", results)
    return DemoResult(run_dir, report, results)


def write_demo_report(
    run_dir: Path, results: dict[str, Any], mnist_config: Any, signal_config: Any
) -> Path:
    """Assemble the report's sections from the results and write ``report.html``."""
    from aelab.experiments.signals import SUMMARY_COLUMNS
    from aelab.reports import Figure, Report, Section, Table, library_versions, write_report

    mnist = results["mnist"]
    signals = results["signals"]
    table = pd.DataFrame(mnist["reconstruction"])
    overall = table[["method", "mse", "bce"]].rename(columns={"mse": "test MSE", "bce": "test BCE"})
    # One row per digit, one column per method: it fits a narrow page.
    per_digit = table.set_index("method")[[f"mse_digit_{d}" for d in range(10)]].T
    per_digit.index = [str(d) for d in range(10)]
    per_digit = per_digit.rename_axis("digit").reset_index()
    per_digit.columns.name = None
    ae, pca = table.iloc[0], table.iloc[1]
    figure = mnist["figures"]
    variant = results["settings"]["variant"]
    facts = {
        "test MSE": f"{ae.mse:.4f}",
        f"PCA ({mnist['latent_dim']}) test MSE": f"{pca.mse:.4f}",
        "epochs": str(mnist["epochs"]),
        "seconds per epoch": f"{mnist['seconds_per_epoch']:.0f}",
        "latent share near zero": f"{mnist['latent_near_zero_share']:.3f}",
    }
    if "elbo_nats" in mnist:
        facts["ELBO (nats per image)"] = f"{mnist['elbo_nats']:.1f}"
    extra_figures = [
        Figure(title, Path(figure[key]))
        for key, title in (
            ("denoising", "Noisy test images, their reconstructions, and the clean images"),
            ("samples", "New images decoded from draws of the prior"),
        )
        if key in figure
    ]

    mnist_section = Section(
        "Images: the MNIST autoencoder",
        intro=(
            f"The {variant} convolutional autoencoder ({mnist['latent_dim']}-D latent) trained on "
            f"{mnist['n_train']:,} MNIST images, early-stopped on {mnist['n_val']:,} more, and "
            f"measured on the {mnist['n_test']:,} test images. PCA with as many components is "
            "the baseline: an autoencoder earns its keep when it rebuilds better than the "
            "best linear projection of the same size."
        ),
        facts=facts,
        tables=[
            Table("Test-set reconstruction error", overall),
            Table("Test MSE per digit", per_digit),
        ],
        figures=[
            Figure(
                "Test images (top) and their reconstructions (bottom)",
                Path(figure["reconstructions"]),
            ),
            Figure(
                "The worst-reconstructed test images, each with its digit and MSE",
                Path(figure["worst"]),
            ),
            Figure("The test set in latent space, coloured by digit", Path(figure["latent"])),
            Figure(
                "Images decoded from a regular grid of latent points", Path(figure["latent_grid"])
            ),
            Figure(
                "Interpolation between two test images in latent space",
                Path(figure["interpolation"]),
            ),
            *extra_figures,
            Figure("Loss per epoch", Path(figure["loss_curves"])),
        ],
    )
    sections = [mnist_section]
    for key, title, intro in (
        (
            "classic",
            "Signals: the classic recipe",
            "Normal signals are sums of three sines with random amplitudes and frequencies; "
            "abnormal ones add a fast sine (|A| in [2, 5], |f| in [5, 10]). The Conv1D "
            "autoencoder learns normal signals only; its reconstruction error is the score, "
            "and the threshold is the 99th percentile of validation-normal scores. Isolation "
            "Forest and PCA reconstruction error are scored on the same signals and "
            "thresholded the same way.",
        ),
        (
            "all_kinds",
            "Signals: eight kinds of anomaly",
            "The same detector, unchanged, on a test set with eight kinds of anomaly at "
            "severities drawn from [0.2, 1]. Recall per kind shows what reconstruction error "
            "sees well and what it misses.",
        ),
    ):
        res = signals[key]
        classification = pd.DataFrame(res["classification"])
        ae_row = classification.iloc[0]
        prefix = f"signals/figures/{key}"
        figures = [
            Figure("Scores of normal and abnormal test signals", run_dir / f"{prefix}_scores.png"),
            Figure("ROC and precision-recall curves", run_dir / f"{prefix}_roc_pr.png"),
            Figure("True positives", run_dir / f"{prefix}_true_positives.png"),
            Figure("False positives", run_dir / f"{prefix}_false_positives.png"),
            Figure("False negatives", run_dir / f"{prefix}_false_negatives.png"),
        ]
        if key == "classic":
            figures.append(
                Figure("Loss per epoch", run_dir / "signals/figures/classic_loss_curves.png")
            )
        tables = [
            Table(
                "Classification of the test signals",
                classification[list(SUMMARY_COLUMNS)],
                caption="tp/fp/fn/tn: the confusion matrix; an anomaly is the positive class.",
            )
        ]
        if key == "all_kinds":
            tables.append(Table("Recall per anomaly kind", pd.DataFrame(res["recall_by_kind"])))
            tables.append(
                Table("Autoencoder recall per severity", pd.DataFrame(res["recall_by_severity"]))
            )
        sections.append(
            Section(
                title,
                intro=intro,
                facts={
                    "ROC-AUC": f"{ae_row.roc_auc:.4f}",
                    "F1": f"{ae_row.f1:.4f}",
                    "precision": f"{ae_row.precision:.4f}",
                    "recall": f"{ae_row.recall:.4f}",
                },
                tables=tables,
                figures=figures,
            )
        )

    report = Report(
        "aelab demo",
        subtitle=(
            "An image autoencoder on real MNIST digits, and a signal anomaly detector on "
            "synthetic signals"
        ),
        sections=sections,
        settings={
            "demo": results["settings"],
            "mnist_training": mnist_config.to_dict(),
            "signal_training": signal_config.to_dict(),
            "signal_threshold": signals["threshold"],
        },
        checksums={
            "MNIST folder read": results["data_source"],
            **{
                f"MNIST {name} (md5 of content)": md5
                for name, md5 in results["data_checksums"].items()
            },
        },
        versions=library_versions(),
        durations=results["durations_s"],
    )
    return write_report(report, run_dir / "report.html")
