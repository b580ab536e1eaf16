"""``aelab fit`` and ``aelab score``: the sensor-log detector on a CSV or Parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
    Percentile,
    Quiet,
    Seed,
    StdCount,
    Strategy,
    ThresholdStrategy,
    TrainSet,
    Verbose,
    threshold_spec,
)
from aelab.results import is_main_process, new_run_dir

SensorFile = Annotated[
    Path, typer.Argument(help="Sensor log: .csv (comma or semicolon) or .parquet.")
]
TimeColumn = Annotated[
    str | None, typer.Option("--time-column", help="Column of timestamps (none by default).")
]
Features = Annotated[
    str | None,
    typer.Option(
        "--features",
        help="Comma-separated sensor columns, in this order. Default: every numeric column "
        "other than the time and label columns.",
    ),
]
LabelColumn = Annotated[
    str | None,
    typer.Option(
        "--label-column",
        help="Column of 0/1 labels (1 = anomaly). In fit, labelled rows are kept out of "
        "training; in score, they are compared with the alarms.",
    ),
]
Separator = Annotated[str | None, typer.Option("--sep", help="CSV separator, when not , or ;.")]
FillGaps = Annotated[
    str,
    typer.Option("--fill-gaps", help="Missing readings: ffill, interpolate or error."),
]
TimeOrder = Annotated[
    str,
    typer.Option("--time-order", help="Timestamps out of order: strict (refuse), sort, or keep."),
]
Window = Annotated[int, typer.Option("--window", help="Time steps per window.")]
Stride = Annotated[int, typer.Option("--stride", help="Steps between window starts.")]
TrainRows = Annotated[
    int | None,
    typer.Option("--train-rows", help="Fit on the first N rows only (default: all rows)."),
]
ValidationShare = Annotated[
    float,
    typer.Option(
        "--validation-share",
        help="Share of the training rows, at the end, held out for early stopping and the "
        "threshold.",
    ),
]
MinGap = Annotated[
    int, typer.Option("--min-gap", help="Merge events separated by at most this many steps.")
]
MinDuration = Annotated[
    int, typer.Option("--min-duration", help="Drop events shorter than this many steps.")
]
Difference = Annotated[
    str | None,
    typer.Option(
        "--difference",
        help="Comma-separated sensors the network sees as differences x[t] - x[t-1], or "
        "'auto': the slow ones (lag-1 autocorrelation >= 0.75 in the training rows).",
    ),
]
ModelDir = Annotated[Path, typer.Argument(help="Model folder written by `aelab fit`.")]


def fit(
    file: SensorFile,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Model folder to write (replaced whole).")
    ] = Path("runs/sensors/model"),
    time_column: TimeColumn = None,
    features: Features = None,
    label_column: LabelColumn = None,
    sep: Separator = None,
    fill_gaps: FillGaps = "ffill",
    time_order: TimeOrder = "strict",
    train_rows: TrainRows = None,
    window: Window = 64,
    stride: Stride = 4,
    validation_share: ValidationShare = 0.2,
    difference: Difference = None,
    min_gap: MinGap = 0,
    min_duration: MinDuration = 1,
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
    log_dir: Annotated[
        Path | None,
        typer.Option(
            "--log-dir",
            help="Training logs and checkpoints. Default: the --out folder's name plus -logs.",
        ),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Fit the sensor detector on a recording of normal operation; write the model folder.

    Each sensor is scaled with the training rows' statistics; windows of --window steps
    every --stride steps train a Conv1D autoencoder with one input channel per sensor; the
    threshold comes from the scores of the last --validation-share of the rows.
    """
    from aelab.data.sensors import read_table
    from aelab.detection.sensor import SENSOR_TRAIN_CONFIG, SensorDetector
    from aelab.persistence import check_model_dir

    setup_logging(verbose)
    with fail():
        check_model_dir(out)  # before training, not after it
        config = train_config_from(
            SENSOR_TRAIN_CONFIG,
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
        read = {"time_column": time_column, "label_column": label_column, "sep": sep}
        table = read_table(
            file,
            features=_feature_list(features),
            fill_gaps=fill_gaps,
            time_order=time_order,
            **read,
        )
        if train_rows is not None:
            table = _first_rows(table, train_rows)
        detector = SensorDetector(
            window=window,
            stride=stride,
            model_config=parse_options(option) or None,
            train_config=config,
            threshold=threshold_spec(threshold, q, k, contamination),
            validation_share=validation_share,
            difference=difference
            if difference in (None, "auto")
            else _feature_list(difference, "--difference"),
            min_gap=min_gap,
            min_duration=min_duration,
            log_dir=log_dir or out.with_name(f"{out.name}-logs"),
        ).fit(table)
        if not is_main_process():
            return  # a worker of a multi-process run: the main process writes the model
        info = {**read, "fill_gaps": fill_gaps, "time_order": time_order, "file": str(file)}
        detector.save(out, info=info)
        typer.echo(
            f"fitted on {table.n_steps} rows x {len(detector.features_)} sensors "
            f"({', '.join(detector.features_)})"
        )
        if detector.differenced_:
            typer.echo(f"differenced: {', '.join(detector.differenced_)}")
        typer.echo(f"threshold: {detector.threshold_:.6g} per time step")
        typer.echo(f"model: {out}")


def score(
    model_dir: ModelDir,
    file: SensorFile,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for scores, events and plots, new or empty. Default: a new dated "
            "folder under runs/.",
        ),
    ] = None,
    time_column: Annotated[
        str | None,
        typer.Option("--time-column", help="Column of timestamps. Default: the one of fit."),
    ] = None,
    label_column: LabelColumn = None,
    sep: Separator = None,
    fill_gaps: Annotated[
        str | None,
        typer.Option("--fill-gaps", help="ffill, interpolate or error. Default: as in fit."),
    ] = None,
    time_order: Annotated[
        str | None,
        typer.Option("--time-order", help="strict, sort or keep. Default: as in fit."),
    ] = None,
    plots: Annotated[
        bool, typer.Option("--plots/--no-plots", help="Also draw the score figures.")
    ] = True,
    verbose: Verbose = False,
) -> None:
    """Score a file with a fitted model: per time step, per sensor, and events.

    Writes scores.csv (score, alarm and error per sensor for each time step), events.csv
    and events.json (start, end, peak score, top sensors), scores.png and
    contributions.png, and metrics.json when --label-column is given.
    """
    from aelab.data.sensors import events_to_frame, read_table
    from aelab.detection.sensor import SensorDetector

    setup_logging(verbose)
    with fail():
        out = new_run_dir(out, "score")
        detector = SensorDetector.load(model_dir)
        info = detector.info_
        table = read_table(
            file,
            time_column=time_column if time_column is not None else info.get("time_column"),
            features=detector.features_,
            label_column=label_column,
            sep=sep if sep is not None else info.get("sep"),
            fill_gaps=fill_gaps or info.get("fill_gaps", "ffill"),
            time_order=time_order or info.get("time_order", "strict"),
        )
        result = detector.score(table)

        # Tables: per time step, and per event.
        out.mkdir(parents=True, exist_ok=True)
        frame = result.to_frame()
        if table.labels is not None:
            frame.insert(2, "label", table.labels)
        frame.to_csv(out / "scores.csv")
        events = events_to_frame(result.events)
        events.to_csv(out / "events.csv", index=False)
        (out / "events.json").write_text(
            events.to_json(orient="records", date_format="iso", indent=2) + "\n"
        )
        written = ["scores.csv", "events.csv", "events.json"]
        if table.labels is not None:
            _write_metrics(out / "metrics.json", table.labels, result.scores, result.threshold)
            written.append("metrics.json")
        if plots:
            _plot(out, table, result)
            written += ["scores.png", "contributions.png"]

        typer.echo(
            f"scored {table.n_steps} time steps: {int(result.alarms.sum())} above the "
            f"threshold {result.threshold:.6g}, {len(result.events)} event(s)"
        )
        if len(events):
            shown = events.nlargest(10, "peak_score").sort_values("start")
            typer.echo(shown.to_string(index=False))
        typer.echo(f"wrote {', '.join(written)} to {out}")


def _feature_list(features: str | None, option: str = "--features") -> list[str] | None:
    if features is None:
        return None
    names = [name.strip() for name in features.split(",") if name.strip()]
    if not names:
        raise ValueError(f"{option} names no column: {features!r}")
    return names


def _first_rows(table: Any, n: int) -> Any:
    if n < 1:
        raise ValueError(f"--train-rows must be at least 1; got {n}")
    if n > table.n_steps:
        raise ValueError(f"--train-rows {n} is more than the file's {table.n_steps} rows")
    return table._replace(
        values=table.values[:n],
        time=None if table.time is None else table.time[:n],
        labels=None if table.labels is None else table.labels[:n],
    )


def _write_metrics(path: Path, labels: Any, scores: Any, threshold: float) -> None:
    from aelab.metrics import classification_figures
    from aelab.results import write_results

    figures = classification_figures(labels, scores, threshold)
    write_results(path, figures)
    typer.echo(
        f"against the labels: precision {figures['precision']:.3f}, recall "
        f"{figures['recall']:.3f}, F1 {figures['f1']:.3f}, false-alarm rate {figures['far']:.3f}"
    )


def _plot(out: Path, table: Any, result: Any) -> None:
    from aelab.plots.sensors import sensor_contributions, sensor_scores

    sensor_scores(
        table.values,
        result.scores,
        result.threshold,
        out / "scores.png",
        time=table.time,
        features=result.features,
        events=result.events,
        labels=table.labels,
    )
    sensor_contributions(
        result.errors,
        out / "contributions.png",
        time=table.time,
        features=result.features,
        events=result.events,
    )
