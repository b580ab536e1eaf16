"""What every command does the same way: logging, KEY=VALUE options, errors."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import typer

log = logging.getLogger("aelab.cli")


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """Turn ``key=value`` strings into a dict; values are read as JSON where they parse."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def setup_logging(verbose: bool = False) -> None:
    """Show aelab's milestones on stderr; ``--verbose`` adds debug detail."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # Lightning's start-up notes (devices found, tips) say nothing a user acts on. Lightning
    # sets its loggers' levels when imported, so import it first.
    import lightning  # noqa: F401

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Warnings (a threshold the data cannot support, say) as one line, not a source dump."""
    typer.secho(f"warning: {message}", err=True, fg=typer.colors.YELLOW)


def train_config_from(base: Any, pairs: list[str] | None, **given: Any) -> Any:
    """``base`` training settings with the options the user gave (``None`` = not given)."""
    from aelab.cli.options import device_value
    from aelab.training import TrainConfig

    values = {k: v for k, v in given.items() if v is not None}
    if "devices" in values:
        values["devices"] = device_value(str(values["devices"]))
    values.update(parse_options(pairs))
    return TrainConfig.from_dict({**dataclasses.asdict(base), **values})


@contextlib.contextmanager
def fail() -> Iterator[None]:
    """Turn the API's errors about input into a one-line message and exit status 2."""
    try:
        yield
    except (ValueError, FileNotFoundError, KeyError, OSError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from err
    except KeyboardInterrupt as err:
        detail = f"; {err.args[0]}" if err.args else ""
        typer.secho(f"interrupted{detail}", err=True, fg=typer.colors.RED)
        raise typer.Exit(130) from err
