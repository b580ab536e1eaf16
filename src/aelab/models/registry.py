"""Name-to-network registry: ``create_model(name, **config)`` and ``list_models()``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from numbers import Integral
from typing import Any

from torch import nn

_REGISTRY: dict[str, tuple[type, Callable[[Any], nn.Module]]] = {}


def register_model(name: str, config_cls: type) -> Callable[[type], type]:
    """Register a network class under ``name``; it is built from a ``config_cls`` instance."""

    def wrap(model_cls: type) -> type:
        if name in _REGISTRY:
            raise ValueError(f"a model named {name!r} is registered already")
        _REGISTRY[name] = (config_cls, model_cls)
        model_cls.registry_name = name
        return model_cls

    return wrap


def list_models() -> list[str]:
    """Return the names of all registered networks, sorted."""
    return sorted(_REGISTRY)


def model_config_class(name: str) -> type:
    """Return the configuration dataclass of the registered network ``name``."""
    return _lookup(name)[0]


def make_config(name: str, **config: Any) -> Any:
    """Build the configuration of network ``name`` from keyword arguments.

    Raises:
        ValueError: for an unknown name, an unknown option or an invalid value.
    """
    config_cls = _lookup(name)[0]
    fields = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(config) - fields)
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(unknown)} for model {name!r}; "
            f"its options are: {', '.join(sorted(fields))}"
        )
    # Lists from JSON or the command line become the tuples the frozen configs hold.
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    defaults = {f.name: f.default for f in dataclasses.fields(config_cls)}
    for key, value in values.items():
        expected = _expected_kind(defaults[key])
        if expected and not _is_kind(value, expected):
            raise ValueError(f"option {key} of model {name!r} takes {expected}; got {value!r}")
    return config_cls(**values)


def _expected_kind(default: Any) -> str | None:
    """What an option holds, judged by its default: a whole number, a list of them, a name."""
    if isinstance(default, bool):
        return None
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, str):
        return "a name"
    if isinstance(default, tuple) and default and all(isinstance(v, int) for v in default):
        return "a list of whole numbers"
    return None


def _is_kind(value: Any, expected: str) -> bool:
    def whole(v: Any) -> bool:
        return isinstance(v, Integral) and not isinstance(v, bool)

    if expected == "a whole number":
        return whole(value)
    if expected == "a name":
        return isinstance(value, str)
    return isinstance(value, tuple) and all(whole(v) for v in value)


def create_model(name: str, **config: Any) -> nn.Module:
    """Build a registered network by name.

    Args:
        name: a name from :func:`list_models`.
        **config: options of the network's configuration dataclass; omitted ones keep the
            defaults, which reproduce the reference network.

    Returns:
        The network, a plain ``nn.Module``.

    Raises:
        ValueError: for an unknown name, an unknown option or an invalid value.

    Example:
        >>> model = create_model("image_ae", latent_dim=16)
    """
    return _lookup(name)[1](make_config(name, **config))


def _lookup(name: str) -> tuple[type, Callable[[Any], nn.Module]]:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return _REGISTRY[name]
