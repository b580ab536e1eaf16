"""The autoencoder variants, each a choice by name: which network, which training objective."""

from __future__ import annotations

import dataclasses

from aelab.training.config import TrainConfig

VARIANTS = ("plain", "denoising", "sparse", "variational")

#: Settings a variant applies unless the training settings already choose their own.
DENOISING_NOISE = ("gaussian", 0.3)
SPARSE_WEIGHT = 1e-3


def apply_variant(variant: str, model: str, config: TrainConfig) -> tuple[str, TrainConfig]:
    """Network name and training settings of ``variant`` built on the plain ``model``.

    - ``plain``: the network and settings as given.
    - ``denoising``: inputs corrupted during training only, clean inputs as targets:
      ``config``'s noise, else Gaussian noise of ``config``'s ``noise_level`` when set,
      else of standard deviation 0.3.
    - ``sparse``: an L1 penalty on latent activations (weight 1e-3 unless set).
    - ``variational``: the ``*_vae`` network; loss = reconstruction + beta * KL.

    Raises:
        ValueError: for an unknown variant, a variational one for a network without, or a
            noise level without a noise kind outside the denoising variant.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of: {', '.join(VARIANTS)}")
    if variant != "denoising" and config.noise is None and config.noise_level > 0:
        raise ValueError(
            f"noise_level {config.noise_level:g} corrupts nothing without a noise kind; use "
            "the denoising variant, or also set noise (gaussian, salt_pepper or mask)"
        )
    if variant == "denoising" and config.noise is None:
        kind, level = DENOISING_NOISE
        level = config.noise_level or level  # a level the user set is kept
        config = dataclasses.replace(config, noise=kind, noise_level=level)
    elif variant == "sparse" and config.sparsity == 0:
        config = dataclasses.replace(config, sparsity=SPARSE_WEIGHT)
    elif variant == "variational" and not model.endswith("_vae"):
        if not model.endswith("_ae"):
            raise ValueError(f"model {model!r} has no variational counterpart")
        model = model.removesuffix("_ae") + "_vae"
    return model, config
