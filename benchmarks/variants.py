"""The four autoencoder variants side by side: plain, denoising, sparse and variational.

Every variant starts from the same seed and the same base settings, and ``apply_variant``
makes its one change: Gaussian input noise of standard deviation 0.3 during training
(denoising), an L1 penalty of weight 1e-3 on the latent activations (sparse), the ``*_vae``
network with loss = reconstruction + 1.0 * KL (variational). Four tasks, one table:

- MNIST reconstruction. ``image_ae`` / ``image_vae`` (the reference network) at 2-D and 16-D
  latents, trained on 8,000 training images (2,000 validation images, both drawn from the
  training file by the seeded split) for 3 epochs with the project's MNIST recipe otherwise
  (``MNIST_TRAIN_CONFIG``; the notes under the table name its loss). Measured on the first
  5,000 test images: MSE of the reconstructions (the variational network decodes its
  posterior mean), MSE of reconstructions of test images corrupted with the
  denoising variant's noise against the clean images (every variant, for comparison), the
  share of latent activations below 1 % of the largest one (sparsity), their mean absolute
  value, and the evidence lower bound per image for the variational network.
- Synthetic signals, the classic recipe (``make_signal_dataset`` defaults: sums of three
  sines, a fast sine added to half of the test signals): 1,000 training, 500 validation and
  1,000 test signals; ``signal_ae`` / ``signal_vae`` with the project's signal recipe
  (batch 64, one-cycle learning rate 3e-3) for 15 epochs.
- CWRU bearings, drive-end accelerometer. Training windows of 1,000 samples (stride 500)
  from the first 120,000 samples of the healthy bearing, validation windows (stride 500)
  from samples 120,000 to 171,000, test windows (stride 1,000, no overlap) from the rest
  of the healthy signal and as many from the start of each of IR007 and B007. The
  standardisation is fitted on the training windows only. Signal recipe for 30 epochs.
- MNIST as an image anomaly task: the detector is trained on the training images of every
  digit but one (0 by default) of the same 8,000 / 2,000 images, without standardisation;
  the held-out digit's images among the same 5,000 test images are the anomalies and the
  other test images the normal ones. 16-D latent, 3 epochs.

In the three detection tasks the score is the detector's mean reconstruction error under
the training loss (MSE for signals, the MNIST recipe's loss for images); for the
variational network it is the expected error over 8 latent samples
(``n_score_samples=8``). The F1 threshold is the 99th percentile of the validation-normal
scores, chosen the same way for every variant.

The budget is about 30 minutes of wall time on two cores shared with other work. Torch runs
one thread: on such cores one thread trained two to three times faster than two in our
measurements, because the second thread keeps waiting for a core.

Usage: python benchmarks/variants.py [--seed 0] [--mnist-train 8000] [--mnist-epochs 3]
                                    [--threads 1]
       python benchmarks/variants.py --quick   (a smoke run with tiny sets; prints only)

Prints the wall time of each part and the table, and saves the table as
``benchmarks/results/variants.md`` and ``variants.csv``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from aelab.cli.common import setup_logging
from aelab.data.benchmarks import data_root, load_cwru
from aelab.data.mnist import MnistSplits, load_mnist
from aelab.data.sensors import make_windows
from aelab.data.synthetic import make_signal_dataset
from aelab.detection import AutoencoderDetector
from aelab.experiments.mnist import MNIST_TRAIN_CONFIG, evaluate_mnist, train_mnist
from aelab.experiments.signals import SIGNAL_TRAIN_CONFIG
from aelab.metrics import classification_figures
from aelab.training import TrainConfig
from aelab.training.variants import DENOISING_NOISE, SPARSE_WEIGHT, VARIANTS, apply_variant

RESULTS = Path(__file__).parent / "results"
CWRU_WINDOW = 1000
FAULTS = ("IR007", "B007")

#: Rows of the table: measure name -> value per variant (NaN where it does not apply).
Table = dict[str, dict[str, float]]


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the benchmark trains, on how much data, for how long."""

    seed: int = 0
    mnist_train: int = 8_000
    mnist_val: int = 2_000
    mnist_test: int = 5_000
    mnist_epochs: int = 3
    latent_dims: tuple[int, ...] = (2, 16)
    held_out_digit: int = 0
    anomaly_latent_dim: int = 16
    signal_train: int = 1000
    signal_val: int = 500
    signal_test: int = 1000
    signal_epochs: int = 15
    cwru_train_end: int = 120_000
    cwru_val_end: int = 171_000
    cwru_epochs: int = 30
    score_samples: int = 8
    threads: int = 1


#: A smoke run: every code path, tiny sets, one or two epochs.
QUICK = Settings(
    mnist_train=600,
    mnist_val=300,
    mnist_test=600,
    mnist_epochs=1,
    signal_train=128,
    signal_val=64,
    signal_test=128,
    signal_epochs=1,
    cwru_train_end=30_000,
    cwru_val_end=40_000,
    cwru_epochs=1,
    score_samples=2,
)


class Clock:
    """Wall time of each named part, printed as each part ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[part] = time.perf_counter() - start
        print(f"[{part}] {self.seconds[part]:.0f} s", flush=True)


def mnist_splits(s: Settings) -> MnistSplits:
    """MNIST cut to the benchmark's training, validation and test sizes."""
    splits = load_mnist(
        data_root() / "mnist",
        n_val=s.mnist_val,
        seed=s.seed,
        limit=max(s.mnist_train, s.mnist_val, s.mnist_test),
    )
    return dataclasses.replace(
        splits,
        train_images=splits.train_images[: s.mnist_train],
        train_labels=splits.train_labels[: s.mnist_train],
        test_images=splits.test_images[: s.mnist_test],
        test_labels=splits.test_labels[: s.mnist_test],
    )


def recipe(config: TrainConfig, epochs: int, seed: int) -> TrainConfig:
    """``config`` for ``epochs`` epochs from ``seed``, quietly (no progress bar)."""
    return dataclasses.replace(config, max_epochs=epochs, seed=seed, progress_bar=False)


def mnist_reconstruction(splits: MnistSplits, s: Settings, work: Path) -> tuple[Table, Table]:
    """Test reconstruction figures of every variant at every latent size.

    Returns:
        The variants' rows, and PCA's MSE with as many components (for the notes).
    """
    base = recipe(MNIST_TRAIN_CONFIG, s.mnist_epochs, s.seed)
    kind, level = DENOISING_NOISE
    rows: Table = {}
    pca: Table = {}
    for dim in s.latent_dims:
        for variant in VARIANTS:
            model, config = apply_variant(variant, "image_ae", base)
            out = work / f"mnist_{variant}_{dim}"
            run = train_mnist(
                splits, out, model=model, model_options={"latent_dim": dim}, train_config=config
            )
            results = evaluate_mnist(run.network, splits, out, noise=DENOISING_NOISE, seed=s.seed)
            mse = {row["method"]: row["mse"] for row in results["reconstruction"]}
            noisy = f"{kind} {level:g} inputs"
            measures = {
                f"MNIST test MSE, {dim}-D latent": mse[f"autoencoder ({dim}-D)"],
                f"MNIST test MSE, {dim}-D latent, {kind} noise {level:g} on the inputs": mse[
                    f"autoencoder, {noisy}"
                ],
                f"MNIST ELBO per image (nats, higher is better), {dim}-D": results.get(
                    "elbo_nats", np.nan
                ),
            }
            if dim == max(s.latent_dims):
                near_zero = f"MNIST latent share near zero (< 1 % of the largest), {dim}-D"
                measures[near_zero] = results["latent_near_zero_share"]
                measures[f"MNIST latent mean absolute value, {dim}-D"] = results["latent_mean_abs"]
            for measure, value in measures.items():
                rows.setdefault(measure, {})[variant] = value
            pca[f"{dim}-D"] = {
                "clean": mse[f"PCA ({dim} components)"],
                "noisy": mse[f"PCA, {noisy}"],
            }
    return rows, pca


def detect(
    variant: str,
    model: str,
    base: TrainConfig,
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    s: Settings,
    log_dir: Path,
    *,
    standardize: bool = True,
    model_config: dict[str, int] | None = None,
) -> tuple[np.ndarray, float]:
    """Fit the variant's detector on normal (train, val) data; test scores and threshold."""
    train, val, test = data
    name, config = apply_variant(variant, model, base)
    detector = AutoencoderDetector(
        model=name,
        model_config=model_config,
        train_config=config,
        standardize=standardize,
        n_score_samples=s.score_samples if name.endswith("_vae") else 0,
        log_dir=log_dir,
    ).fit(train, X_val=val)
    return detector.score(test).scores, detector.threshold_


def synthetic_signals(s: Settings, work: Path) -> Table:
    """ROC-AUC and F1 of every variant on the classic synthetic recipe."""
    data = make_signal_dataset(s.signal_train, s.signal_val, s.signal_test, seed=s.seed)
    base = recipe(SIGNAL_TRAIN_CONFIG, s.signal_epochs, s.seed)
    rows: Table = {"Synthetic signals ROC-AUC": {}, "Synthetic signals F1": {}}
    for variant in VARIANTS:
        scores, threshold = detect(
            variant, "signal_ae", base, (data.train, data.val, data.test), s, work / variant
        )
        figures = classification_figures(data.test_labels, scores, threshold)
        rows["Synthetic signals ROC-AUC"][variant] = figures["roc_auc"]
        rows["Synthetic signals F1"][variant] = figures["f1"]
    return rows


def cwru_windows(s: Settings) -> tuple[np.ndarray, ...]:
    """Training, validation and test windows ``(N, 1, 1000)``, test labels and fault names."""
    root = data_root()
    healthy = load_cwru("normal", root=root)
    half = CWRU_WINDOW // 2
    # Copies: make_windows gives read-only views, which torch warns about.
    train = np.array(make_windows(healthy[: s.cwru_train_end], CWRU_WINDOW, half))
    val = np.array(make_windows(healthy[s.cwru_train_end : s.cwru_val_end], CWRU_WINDOW, half))
    normal = np.array(make_windows(healthy[s.cwru_val_end :], CWRU_WINDOW, CWRU_WINDOW))
    n = len(normal)
    faults = [make_windows(load_cwru(f, root=root), CWRU_WINDOW, CWRU_WINDOW)[:n] for f in FAULTS]
    test = np.concatenate([normal, *faults])
    groups = np.repeat(["healthy", *FAULTS], n)
    return train, val, test, (groups != "healthy").astype(np.int64), groups


def cwru(s: Settings, work: Path) -> tuple[Table, dict[str, int]]:
    """ROC-AUC (both faults, and each alone) and F1 of every variant on CWRU windows."""
    train, val, test, labels, groups = cwru_windows(s)
    sizes = {"train": len(train), "val": len(val), "test per class": int((labels == 0).sum())}
    base = recipe(SIGNAL_TRAIN_CONFIG, s.cwru_epochs, s.seed)
    rows: Table = {}
    for variant in VARIANTS:
        scores, threshold = detect(
            variant, "signal_ae", base, (train, val, test), s, work / variant
        )
        figures = classification_figures(labels, scores, threshold)
        rows.setdefault("CWRU ROC-AUC, healthy vs IR007 + B007", {})[variant] = figures["roc_auc"]
        rows.setdefault("CWRU F1, healthy vs IR007 + B007", {})[variant] = figures["f1"]
        for fault in FAULTS:
            pick = (groups == "healthy") | (groups == fault)
            auc = float(roc_auc_score(labels[pick], scores[pick]))
            rows.setdefault(f"CWRU ROC-AUC, healthy vs {fault}", {})[variant] = auc
    return rows, sizes


def mnist_anomaly(splits: MnistSplits, s: Settings, work: Path) -> tuple[Table, dict[str, int]]:
    """ROC-AUC and F1 with one digit held out of training as the anomaly."""
    digit = s.held_out_digit
    train = splits.train_images[splits.train_labels != digit].numpy()
    val = splits.val_images[splits.val_labels != digit].numpy()
    test = splits.test_images.numpy()
    labels = (splits.test_labels == digit).numpy().astype(np.int64)
    sizes = {"train": len(train), "val": len(val), "test": len(test), "anomalies": labels.sum()}
    base = recipe(MNIST_TRAIN_CONFIG, s.mnist_epochs, s.seed)
    auc = f"MNIST anomaly (digit {digit} held out) ROC-AUC"
    f1 = f"MNIST anomaly (digit {digit} held out) F1"
    rows: Table = {auc: {}, f1: {}}
    for variant in VARIANTS:
        scores, threshold = detect(
            variant,
            "image_ae",
            base,
            (train, val, test),
            s,
            work / variant,
            standardize=False,
            model_config={"latent_dim": s.anomaly_latent_dim},
        )
        figures = classification_figures(labels, scores, threshold)
        rows[auc][variant] = figures["roc_auc"]
        rows[f1][variant] = figures["f1"]
    return rows, {k: int(v) for k, v in sizes.items()}


def as_frame(rows: Table) -> pd.DataFrame:
    """One row per measure, one column per variant."""
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(VARIANTS))
    frame.index.name = "measure"
    return frame.astype(float)


def markdown(frame: pd.DataFrame) -> str:
    """The table as Markdown: 4 significant decimals for errors, 1 for ELBO, 3 otherwise."""

    def cell(measure: str, value: float) -> str:
        if np.isnan(value):
            return "—"
        if "ELBO" in measure:
            return f"{value:.1f}"
        if "MSE" in measure:
            return f"{value:.4f}"
        return f"{value:.3f}"

    lines = [
        "| measure | " + " | ".join(frame.columns) + " |",
        "|---|" + "---:|" * len(frame.columns),
    ]
    for measure, values in frame.iterrows():
        cells = " | ".join(cell(str(measure), float(v)) for v in values)
        lines.append(f"| {measure} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument("--mnist-train", type=int, default=Settings.mnist_train)
    parser.add_argument("--mnist-epochs", type=int, default=Settings.mnist_epochs)
    parser.add_argument("--threads", type=int, default=Settings.threads)
    parser.add_argument("--quick", action="store_true", help="tiny sets; print, save nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="log aelab's milestones")
    args = parser.parse_args()
    settings = QUICK if args.quick else Settings()
    settings = dataclasses.replace(
        settings,
        seed=args.seed,
        mnist_train=settings.mnist_train if args.quick else args.mnist_train,
        mnist_epochs=settings.mnist_epochs if args.quick else args.mnist_epochs,
        threads=args.threads,
    )
    torch.set_num_threads(settings.threads)
    setup_logging()
    if not args.verbose:
        logging.getLogger("aelab").setLevel(logging.WARNING)
    s = settings
    print(f"settings: {s}", flush=True)
    device = "GPU" if torch.cuda.is_available() else "CPU"
    print(f"device: {device}, {torch.get_num_threads()} torch thread(s)", flush=True)

    clock = Clock()
    rows: Table = {}
    with tempfile.TemporaryDirectory(prefix="aelab-variants-") as tmp:
        work = Path(tmp)
        splits = mnist_splits(s)
        with clock(f"MNIST reconstruction ({4 * len(s.latent_dims)} models)"):
            mnist_rows, pca = mnist_reconstruction(splits, s, work / "mnist")
            rows.update(mnist_rows)
        with clock("Synthetic signals (4 detectors)"):
            rows.update(synthetic_signals(s, work / "signals"))
        with clock("CWRU bearings (4 detectors)"):
            cwru_rows, cwru_sizes = cwru(s, work / "cwru")
            rows.update(cwru_rows)
        with clock("MNIST anomaly (4 detectors)"):
            anomaly_rows, anomaly_sizes = mnist_anomaly(splits, s, work / "anomaly")
            rows.update(anomaly_rows)

    frame = as_frame(rows)
    table = markdown(frame)
    total = sum(clock.seconds.values())
    kind, level = DENOISING_NOISE
    image, signal = MNIST_TRAIN_CONFIG, SIGNAL_TRAIN_CONFIG
    notes = [
        f"Seed {s.seed} everywhere; {device}, {torch.get_num_threads()} torch thread(s); "
        f"wall time {total / 60:.1f} min ("
        + ", ".join(f"{part}: {sec:.0f} s" for part, sec in clock.seconds.items())
        + ").",
        f"MNIST: {len(splits.train_labels):,} training, {len(splits.val_labels):,} validation, "
        f"{len(splits.test_labels):,} test images; {s.mnist_epochs} epochs; "
        f"{image.loss.upper()} loss, batch {image.batch_size}, {image.schedule} learning rate "
        f"{image.learning_rate:g}. The variational network is measured on its "
        "posterior mean; its ELBO uses one latent sample per image and a Bernoulli decoder. "
        f"Noisy inputs: {kind} noise of standard deviation {level:g}, clipped to [0, 1]. "
        "PCA with as many components as latent dimensions: test MSE "
        + ", ".join(
            f"{dim} {v['clean']:.4f} (noisy inputs {v['noisy']:.4f})" for dim, v in pca.items()
        )
        + ".",
        f"Synthetic signals: classic recipe, {s.signal_train} training, {s.signal_val} "
        f"validation, {s.signal_test} test signals (half abnormal); {s.signal_epochs} epochs; "
        f"{signal.loss.upper()} loss, batch {signal.batch_size}, {signal.schedule} learning "
        f"rate {signal.learning_rate:g}.",
        f"CWRU: drive-end windows of {CWRU_WINDOW} samples; {cwru_sizes['train']} training and "
        f"{cwru_sizes['val']} validation windows of the healthy bearing; test "
        f"{cwru_sizes['test per class']} healthy, IR007 and B007 windows each; "
        f"{s.cwru_epochs} epochs, otherwise the signal recipe; standardisation fitted on the "
        "training windows.",
        f"MNIST anomaly: trained on {anomaly_sizes['train']:,} images of digits other than "
        f"{s.held_out_digit} ({anomaly_sizes['val']:,} validation), no standardisation, "
        f"{s.anomaly_latent_dim}-D latent; test {anomaly_sizes['test']:,} images of which "
        f"{anomaly_sizes['anomalies']:,} anomalies.",
        "Detection scores: mean reconstruction error under the training loss "
        f"({signal.loss.upper()} for signals and CWRU, {image.loss.upper()} for MNIST); the "
        f"variational detectors average it over {s.score_samples} latent samples "
        f"(n_score_samples={s.score_samples}). "
        "F1 at the 99th percentile of the validation-normal scores.",
        "Variants: denoising trains on inputs with "
        f"{kind} noise {level:g} (clean targets, clean validation); sparse adds "
        f"{SPARSE_WEIGHT:g} x the mean absolute latent activation to the loss; variational "
        "trains the *_vae network with beta 1.",
    ]
    print()
    print(table)
    print()
    for note in notes:
        print(f"- {note}")
    if args.quick:
        return
    RESULTS.mkdir(exist_ok=True)
    header = (
        "# Autoencoder variants side by side\n\n"
        "Produced by `python benchmarks/variants.py`; see its docstring for the set-up.\n\n"
    )
    body = table + "\n\n" + "\n".join(f"- {note}" for note in notes) + "\n"
    (RESULTS / "variants.md").write_text(header + body)
    frame.to_csv(RESULTS / "variants.csv", float_format="%.6g")
    print(f"\nsaved {RESULTS / 'variants.md'} and {RESULTS / 'variants.csv'}", file=sys.stderr)


if __name__ == "__main__":
    main()
