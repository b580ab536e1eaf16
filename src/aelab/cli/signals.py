"""``aelab signals``: synthetic signals, the Conv1D detector, and its assessment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aelab.cli.common import fail, parse_options, setup_logging, train_config_from
from aelab.cli.options import (
    Accelerator,
    BatchSize,
    Contamination,
    Devices,
    Epochs,
    LearningRate,
    Loss,
    ModelSet,
    OutDir,
    Percentile,
    Quiet,
    Seed,
    StdCount,
    Strategy,
    ThresholdStrategy,
    TrainSet,
    Variant,
    Verbose,
    threshold_spec,
)
from aelab.results import is_main_process, new_run_dir

app = typer.Typer(
    help="Anomaly detection on synthetic signals with the Conv1D autoencoder.",
    no_args_is_help=True,
)

DataFile = Annotated[Path, typer.Argument(help="Data set written by `aelab signals generate`.")]


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="The .npz file to write.")] = Path(
        "runs/signals/data.npz"
    ),
    n_train: Annotated[
        int, typer.Option("--n-train", min=1, help="Normal training signals.")
    ] = 2000,
    n_val: Annotated[int, typer.Option("--n-val", min=1, help="Normal validation signals.")] = 500,
    n_test: Annotated[
        int, typer.Option("--n-test", min=1, help="Test signals, normal and not.")
    ] = 1000,
    anomaly_share: Annotated[
        float, typer.Option("--anomaly-share", help="Share of abnormal test signals.")
    ] = 0.5,
    kinds: Annotated[
        str,
        typer.Option(
            "--kinds",
            help="Comma-separated anomaly kinds, or 'all': high_frequency, spikes, "
            "level_shift, noise_burst, frequency_change, dropout, drift, amplitude_change.",
        ),
    ] = "high_frequency",
    severity: Annotated[
        str,
        typer.Option(
            "--severity", help="Severity in [0, 1], or a range LOW,HIGH drawn per signal."
        ),
    ] = "1.0",
    noise_std: Annotated[
        float, typer.Option("--noise-std", help="Gaussian measurement noise on every signal.")
    ] = 0.0,
    length: Annotated[int, typer.Option("--length", help="Time steps per signal.")] = 1000,
    seed: Seed = 0,
    verbose: Verbose = False,
) -> None:
    """Generate normal training/validation signals and a labelled test set (.npz, no pickle)."""
    from aelab.data.synthetic import (
        SignalConfig,
        list_anomaly_kinds,
        make_signal_dataset,
        save_signal_dataset,
    )

    setup_logging(verbose)
    with fail():
        chosen = list_anomaly_kinds() if kinds == "all" else [k.strip() for k in kinds.split(",")]
        level = _severity(severity)
        dataset = make_signal_dataset(
            n_train,
            n_val,
            n_test,
            anomaly_share=anomaly_share,
            kinds=tuple(chosen),
            severity=level,
            config=SignalConfig(length=length, noise_std=noise_std),
            seed=seed,
        )
        typer.echo(f"data: {save_signal_dataset(dataset, out)}")


@app.command()
def train(
    data: DataFile,
    out: OutDir = None,
    model: Annotated[str, typer.Option("--model", help="Registered signal network.")] = "signal_ae",
    variant: Variant = "plain",
    option: ModelSet = None,
    epochs: Epochs = None,
    batch_size: BatchSize = None,
    learning_rate: LearningRate = None,
    loss: Loss = None,
    seed: Seed = 0,
    threshold: ThresholdStrategy = "percentile",
    q: Percentile = 99.0,
    k: StdCount = 3.0,
    contamination: Contamination = 0.05,
    accelerator: Accelerator = "auto",
    devices: Devices = "auto",
    strategy: Strategy = "auto",
    no_progress: Quiet = False,
    train_set: TrainSet = None,
    verbose: Verbose = False,
) -> None:
    """Train the detector on the normal signals; choose the threshold on the validation ones."""
    from aelab.data.synthetic import load_signal_dataset
    from aelab.experiments.signals import SIGNAL_TRAIN_CONFIG, train_detector
    from aelab.training.variants import apply_variant

    setup_logging(verbose)
    with fail():
        out = new_run_dir(out, "signals")
        config = train_config_from(
            SIGNAL_TRAIN_CONFIG,
            train_set,
            max_epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            loss=loss,
            seed=seed,
            accelerator=accelerator,
            devices=devices,
            strategy=strategy,
            progress_bar=not no_progress,
        )
        model, config = apply_variant(variant, model, config)
        detector = train_detector(
            load_signal_dataset(data),
            out,
            model=model,
            model_options=parse_options(option),
            train_config=config,
            threshold=threshold_spec(threshold, q, k, contamination),
        )
        if not is_main_process():
            return  # a worker of a multi-process run: the main process writes the model
        typer.echo(f"threshold: {detector.threshold_:.6g}")
        typer.echo(f"model: {out / 'model'}")


@app.command()
def evaluate(
    model_dir: Annotated[
        Path, typer.Argument(help="Model folder written by `aelab signals train`.")
    ],
    data: DataFile,
    out: OutDir = None,
    baselines: Annotated[
        bool,
        typer.Option("--baselines/--no-baselines", help="Also score Isolation Forest and PCA."),
    ] = True,
    seed: Seed = 0,
    verbose: Verbose = False,
) -> None:
    """Confusion matrix, precision, recall, F1, ROC-AUC, PR-AUC, recall per kind; plots."""
    import pandas as pd

    from aelab.data.synthetic import load_signal_dataset
    from aelab.detection import AutoencoderDetector
    from aelab.experiments.signals import SUMMARY_COLUMNS, check_both_classes, evaluate_detector

    setup_logging(verbose)
    with fail():
        detector = AutoencoderDetector.load(model_dir)
        dataset = load_signal_dataset(data)
        check_both_classes(dataset.test_labels)
        out = new_run_dir(out, "signals-eval")
        results = evaluate_detector(detector, dataset, out, baselines=baselines, seed=seed)
        typer.echo(
            pd.DataFrame(results["classification"])[list(SUMMARY_COLUMNS)].to_string(index=False)
        )
        typer.echo(pd.DataFrame(results["recall_by_kind"]).to_string(index=False))
        typer.echo(f"results: {out / 'signals_results.json'}")


def _severity(text: str) -> float | tuple[float, float]:
    """``--severity``: one number, or ``LOW,HIGH``."""
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2):
        raise ValueError(f"--severity takes a number or LOW,HIGH (e.g. 0.2,1); got {text!r}")
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])
