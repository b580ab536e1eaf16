"""The ``aelab`` command and its subcommands.

Every command is a thin call into the Python API; heavy modules are imported inside the
commands so ``aelab --help`` answers at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from aelab.cli import mnist, signals
from aelab.cli.common import parse_options
from aelab.cli.options import ModelSet

app = typer.Typer(
    name="aelab",
    help="Autoencoders for industrial analytics: images, signals and sensor logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

app.add_typer(mnist.app, name="mnist")
app.add_typer(signals.app, name="signals")


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
