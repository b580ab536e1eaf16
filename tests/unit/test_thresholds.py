import numpy as np
import pytest

from aelab.detection import ThresholdSpec, ThresholdWarning, fit_threshold


def test_percentile_is_the_percentile_of_the_scores():
    scores = np.arange(1, 1001, dtype=float)
    assert fit_threshold(scores, ThresholdSpec("percentile", q=99)) == pytest.approx(
        np.percentile(scores, 99)
    )


def test_percentile_warns_when_too_few_scores():
    with pytest.warns(ThresholdWarning, match="at least 100"):
        fit_threshold(np.arange(50.0), ThresholdSpec("percentile", q=99))


def test_mean_std():
    scores = np.array([1.0, 2.0, 3.0, 4.0])
    expected = scores.mean() + 2 * scores.std()
    assert fit_threshold(scores, ThresholdSpec("mean_std", k=2)) == pytest.approx(expected)


def test_contamination_leaves_that_share_above():
    scores = np.random.default_rng(0).normal(size=10_000)
    t = fit_threshold(scores, ThresholdSpec("contamination", contamination=0.1))
    assert (scores > t).mean() == pytest.approx(0.1, abs=0.001)


def test_f1_threshold_separates_separable_scores_with_strict_semantics():
    scores = np.array([0.1, 0.2, 0.3, 0.9, 1.0, 1.1])
    labels = np.array([0, 0, 0, 1, 1, 1])
    t = fit_threshold(scores, ThresholdSpec("f1"), labels=labels)
    assert ((scores > t).astype(int) == labels).all()
    assert t == 0.3  # the largest normal score: equal to the threshold is normal


def test_f1_needs_labels_and_warns_without_anomalies():
    with pytest.raises(ValueError, match="needs labels"):
        fit_threshold(np.arange(5.0), ThresholdSpec("f1"))
    with pytest.warns(ThresholdWarning, match="both normal and anomalous"):
        t = fit_threshold(np.arange(5.0), ThresholdSpec("f1"), labels=np.zeros(5))
    assert t == 4.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "magic"}, "unknown threshold strategy"),
        ({"q": 0}, "q must be in"),
        ({"contamination": 0.9}, "contamination must be in"),
    ],
)
def test_bad_specs_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ThresholdSpec(**kwargs)


def test_non_finite_scores_are_rejected():
    with pytest.raises(ValueError, match="finite"):
        fit_threshold(np.array([1.0, np.nan]))
