"""The ``aelab`` command and its subcommands.

Every command is a thin call into the Python API; heavy modules are imported inside the
commands so ``aelab --help`` answers at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aelab.cli import mnist, sensors, signals
from aelab.cli.common import parse_options
from aelab.cli.options import Accelerator, Devices, ModelSet, Quiet, Seed, Variant, Verbose

app = typer.Typer(
    name="aelab",
    help="Autoencoders for industrial analytics: images, signals and sensor logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)

app.add_typer(mnist.app, name="mnist")
app.add_typer(signals.app, name="signals")
app.command("fit")(sensors.fit)
app.command("score")(sensors.score)


@app.command()
def summary(
    model: Annotated[str, typer.Argument(help="Registered model name; see `aelab models`.")],
    option: ModelSet = None,
) -> None:
    """Print a network's layer table: layer, output shape, parameters and totals."""
    from aelab.models import create_model, layer_table

    try:
        network = create_model(model, **parse_options(option))
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
    typer.echo(layer_table(network, network.input_shape).format())


@app.command()
def models() -> None:
    """List the registered networks and their options with defaults."""
    import dataclasses

    from aelab.models import list_models, model_config_class

    for name in list_models():
        typer.echo(name)
        for field in dataclasses.fields(model_config_class(name)):
            typer.echo(f"    {field.name} = {field.default!r}")


def main() -> None:
    """Entry point of the ``aelab`` console script."""
    app()


@app.command()
def demo(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Run folder, new or empty (default: runs/demo-DATE-TIME)."
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="A smoke run of a minute or two with the same outputs.")
    ] = False,
    mnist_dir: Annotated[
        Path | None,
        typer.Option("--mnist-dir", help="Folder of the MNIST files (default: searched)."),
    ] = None,
    download: Annotated[
        bool, typer.Option("--download", help="Download MNIST if it is found nowhere.")
    ] = False,
    epochs: Annotated[
        int | None, typer.Option("--mnist-epochs", help="Epochs of the image autoencoder.")
    ] = None,
    variant: Variant = "plain",
    accelerator: Accelerator = "auto",
    devices: Devices = "auto",
    seed: Seed = 0,
    no_progress: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Run both experiments on real data and write an HTML report into a run folder.

    Trains the image autoencoder on MNIST and the signal detector on synthetic signals,
    evaluates both against baselines, and writes the report, the results JSON, the
    trained models and the logs. The last line of output names the run folder.
    """
    import dataclasses

    from aelab.cli.common import fail, setup_logging
    from aelab.cli.options import device_value
    from aelab.experiments.demo import QUICK, DemoSettings, run_demo

    setup_logging(verbose)
    with fail():
        settings = QUICK if quick else DemoSettings()
        changes = {
            "mnist_dir": str(mnist_dir) if mnist_dir else None,
            "download": download,
            "accelerator": accelerator,
            "devices": device_value(devices),
            "seed": seed,
            "progress_bar": not no_progress,
            "variant": variant,
        }
        if epochs is not None:
            changes["mnist_epochs"] = epochs
        result = run_demo(out, dataclasses.replace(settings, **changes))
    mnist = result.results["mnist"]["reconstruction"]
    classic = result.results["signals"]["classic"]["classification"][0]
    typer.echo(f"MNIST test MSE {mnist[0]['mse']:.4f} (PCA {mnist[1]['mse']:.4f})")
    typer.echo(f"signals ROC-AUC {classic['roc_auc']:.4f}, F1 {classic['f1']:.4f}")
    typer.echo(f"report: {result.report}")
    typer.echo(f"run folder: {result.run_dir}")
