"""Detection: detectors that score samples, and threshold strategies that flag them."""

from aelab.detection.detector import AutoencoderDetector, DetectorScores
from aelab.detection.sensor import SensorDetector, SensorScores, StreamingScorer, StreamUpdate
from aelab.detection.thresholds import (
    STRATEGIES,
    ThresholdSpec,
    ThresholdWarning,
    describe,
    fit_threshold,
)

__all__ = [
    "STRATEGIES",
    "AutoencoderDetector",
    "DetectorScores",
    "SensorDetector",
    "SensorScores",
    "StreamUpdate",
    "StreamingScorer",
    "ThresholdSpec",
    "ThresholdWarning",
    "describe",
    "fit_threshold",
]
