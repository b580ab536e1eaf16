"""The ``aelab`` command and its subcommands.

Every command is a thin call into the Python API; heavy modules are imported inside the
commands so ``aelab --help`` answers at once.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer

app = typer.Typer(
    name="aelab",
    help="Autoencoders for industrial analytics: images, signals and sensor logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def parse_options(pairs: list[str] | None) -> dict[str, object]:
    """Turn ``key=value`` strings into a dict; values are read as JSON where they parse."""
    options: dict[str, object] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def setup_logging(verbose: bool) -> None:
    """Show aelab's milestones on stderr; ``--verbose`` adds debug detail."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # Lightning's start-up notes (devices found, tips) say nothing a user acts on.
    for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)


@app.command()
def summary(
    model: Annotated[str, typer.Argument(help="Registered model name; see `aelab models`.")],
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            help="Network option as KEY=VALUE (JSON values), e.g. -s latent_dim=16 "
            "-s 'channels=[16,32]'. Repeat for several.",
        ),
    ] = None,
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
