"""Model folders: safetensors weights and a JSON config, written atomically, read without pickle."""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

import torch
from safetensors.torch import load_file, save_file

from aelab import __version__
from aelab.models import create_model
from aelab.models.base import Autoencoder

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
FORMAT_VERSION = 1


class SavedModel(NamedTuple):
    """A network read back from a model folder, with what was saved beside it."""

    network: Autoencoder
    extra: dict[str, Any]
    aelab_version: str


def save_model(
    folder: str | Path, network: Autoencoder, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``network`` and JSON-ready ``extra`` to ``folder``, replacing it whole.

    The folder is assembled beside its destination and renamed into place, so a failure
    leaves the previous folder (or nothing) behind, never a half-written one.

    Returns:
        The folder.
    """
    folder = Path(folder)
    check_model_dir(folder)
    state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    check_finite_weights(state, f"the {network.registry_name} to save")
    folder.parent.mkdir(parents=True, exist_ok=True)
    config = {
        "format_version": FORMAT_VERSION,
        "aelab_version": __version__,
        "model": network.registry_name,
        "model_config": dataclasses.asdict(network.config),
        "extra": extra or {},
    }
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model folder is an ordinary folder
    try:
        save_file(state, staging / WEIGHTS)
        (staging / CONFIG).write_text(json.dumps(config, indent=2, allow_nan=False) + "\n")
        # safetensors writes its file private; give it the mode the umask gives any file.
        (staging / WEIGHTS).chmod((staging / CONFIG).stat().st_mode & 0o777)
        if folder.exists():
            old = folder.with_name(f".{folder.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
            staging.rename(folder)
            shutil.rmtree(old)
        else:
            staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def check_finite_weights(state: dict[str, torch.Tensor], what: str) -> None:
    """Refuse weights holding NaN or infinite values (a diverged training, a damaged file).

    Raises:
        ValueError: naming the first tensor with such values and how many it holds.
    """
    for key, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            bad = int((~torch.isfinite(tensor)).sum())
            raise ValueError(
                f"{what} holds NaN or infinite weights ({bad} of {tensor.numel()} values of "
                f"{key!r}); the file is damaged or its training diverged"
            )


def check_model_dir(folder: str | Path) -> Path:
    """Refuse to replace anything but an earlier model folder, so no user file is lost.

    Raises:
        ValueError: ``folder`` has no name of its own (``.``, the working folder).
        FileExistsError: ``folder`` is a file, or a folder holding other files.
    """
    folder = Path(folder)
    if not folder.name or folder.resolve() == Path.cwd().resolve():
        raise ValueError(f"{folder} cannot be a model folder; name a new folder instead")
    if folder.is_file():
        raise FileExistsError(
            f"{folder} is a file; a model is saved into a new folder or over an earlier "
            "model folder"
        )
    if folder.is_dir():
        others = sorted(p.name for p in folder.iterdir() if p.name not in (WEIGHTS, CONFIG))
        if others:
            raise FileExistsError(
                f"{folder} exists and holds other files ({', '.join(others[:3])}); "
                "a model is saved only into a new folder or over an earlier model folder"
            )
    return folder


def load_model(folder: str | Path) -> SavedModel:
    """Rebuild a network from a folder written by :func:`save_model`.

    Raises:
        FileNotFoundError: when the folder or one of its two files is missing.
        ValueError: when the config is malformed or of a newer format, or the weights do not
            fit the network.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no model folder at {folder}; a model folder holds {CONFIG} and {WEIGHTS}"
        )
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{folder / name} is missing; a model folder holds {CONFIG} and {WEIGHTS}"
            )
    try:
        config = json.loads((folder / CONFIG).read_text())
        name, model_config = config["model"], config["model_config"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(
            f"{folder / CONFIG} is not an aelab model config ({err}); expected JSON with "
            "'model' and 'model_config'"
        ) from err
    version = config.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{folder / CONFIG} has format_version {version!r}; this aelab "
            f"({__version__}) reads model folders up to format {FORMAT_VERSION}"
        )
    extra = config.get("extra", {})
    if not isinstance(extra, dict) or not isinstance(model_config, dict):
        raise ValueError(
            f"{folder / CONFIG} is not an aelab model config: 'model_config' and 'extra' "
            "must be JSON objects"
        )
    network = create_model(name, **model_config)
    try:
        state = load_file(folder / WEIGHTS)
        network.load_state_dict(state)
    except Exception as err:  # safetensors raises its own error types
        raise ValueError(f"{folder / WEIGHTS} does not hold weights for {name}: {err}") from err
    check_finite_weights(state, str(folder / WEIGHTS))
    network.eval()
    return SavedModel(network, extra, config.get("aelab_version", "unknown"))
