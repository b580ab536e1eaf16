"""Networks only: plain ``nn.Module`` autoencoders, their registry and layer tables."""

from aelab.models.base import Autoencoder, AutoencoderOutput
from aelab.models.image import ImageAutoencoder, ImageAutoencoderConfig, ImageVAE
from aelab.models.registry import create_model, list_models, make_config, model_config_class
from aelab.models.signal import SignalAutoencoder, SignalAutoencoderConfig, SignalVAE
from aelab.models.summary import LayerRow, LayerTable, layer_table

__all__ = [
    "Autoencoder",
    "AutoencoderOutput",
    "ImageAutoencoder",
    "ImageAutoencoderConfig",
    "ImageVAE",
    "LayerRow",
    "LayerTable",
    "SignalAutoencoder",
    "SignalAutoencoderConfig",
    "SignalVAE",
    "create_model",
    "layer_table",
    "list_models",
    "make_config",
    "model_config_class",
]
