import json
import math

import numpy as np

from aelab.results import write_results


def test_results_are_strict_json_with_null_for_undefined_figures(tmp_path):
    results = {
        "roc_auc": float("nan"),
        "rows": [{"f1": np.float64("inf"), "n": 3}, (1.5, -math.inf)],
        "path": tmp_path,
    }
    path = write_results(tmp_path / "results.json", results)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {
        "roc_auc": None,
        "rows": [{"f1": None, "n": 3}, [1.5, None]],
        "path": str(tmp_path),
    }
