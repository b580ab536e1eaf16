import json

import numpy as np
import pytest

from aelab.data.synthetic import SignalConfig, list_anomaly_kinds, make_signal_dataset
from aelab.experiments.signals import evaluate_detector, train_detector
from aelab.training import TrainConfig

FAST = TrainConfig(max_epochs=10, batch_size=32, learning_rate=5e-3, progress_bar=False)
CONFIG = SignalConfig(length=400)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("signals")
    data = make_signal_dataset(400, 120, 200, config=CONFIG, seed=0)
    return train_detector(data, out, train_config=FAST), data, out


def test_classic_recipe_is_detected(trained):
    detector, data, out = trained
    results = evaluate_detector(detector, data, out, name="classic")
    ae = results["classification"][0]
    assert ae["method"] == "autoencoder"
    assert ae["roc_auc"] >= 0.99
    assert ae["f1"] >= 0.95
    assert ae["tp"] + ae["fn"] == int(data.test_labels.sum())
    saved = json.loads((out / "classic_results.json").read_text())
    assert saved["classification"][0]["f1"] == ae["f1"]
    for path in results["figures"].values():
        assert (out / "figures").exists() and np.fromfile(path, np.uint8).size > 1000


def test_every_kind_has_a_recall(trained, tmp_path):
    detector, _, _ = trained
    kinds = list_anomaly_kinds()
    data = make_signal_dataset(
        300, 100, 8 * len(kinds) * 2, kinds=tuple(kinds), config=CONFIG, seed=3
    )
    results = evaluate_detector(detector, data, tmp_path, name="kinds", baselines=False)
    per_kind = {row["kind"]: row["recall"] for row in results["recall_by_kind"]}
    assert sorted(per_kind) == sorted(kinds)
    # Spikes and added fast sines are far from any sum of slow sines.
    assert per_kind["spikes"] >= 0.8 and per_kind["high_frequency"] >= 0.8


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_a_test_set_of_one_class_is_refused_before_writing(trained, tmp_path, share):
    detector, _, _ = trained
    data = make_signal_dataset(40, 20, 30, anomaly_share=share, config=CONFIG, seed=4)
    assert set(data.test_labels) == {int(share)}
    out = tmp_path / "eval"
    kind = "anomalous" if share else "normal"
    with pytest.raises(ValueError, match=f"30 signals, all {kind}"):
        evaluate_detector(detector, data, out)
    assert not out.exists()
