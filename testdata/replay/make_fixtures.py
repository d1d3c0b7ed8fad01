"""Writes the reference values the replay metrics are tested against.

Run it from the repository root:

    /root/.cache/streamscore/venv/bin/python testdata/replay/make_fixtures.py

(any Python with numpy and scikit-learn will do). Every random draw uses a
fixed seed, so the file is the same on every run; it is kept in git, so the Go
tests (pipeline/replay/metrics_test.go) never need Python. They recompute each
metric from the same inputs and compare to 1e-9.

File written: testdata/replay/metrics.json, holding

  classifier  cases of y_true (0/1) and y_score (positive-class probability),
              a decision threshold and a number of calibration bins, with
              sklearn's roc_auc_score, average_precision_score (PR AUC: the
              step-wise sum of precision times recall increments, without
              interpolation), log_loss, brier_score_loss, accuracy_score,
              precision_score, recall_score and f1_score of the decisions
              y_score >= threshold (zero_division=0), and calibration_curve
              (strategy "uniform").
  regressor   cases of y_true and y_pred with sklearn's root_mean_squared_error,
              mean_absolute_error, r2_score and mean_absolute_percentage_error.
  quantiles   cases of score differences with numpy's percentile (linear
              interpolation), mean and standard deviation (ddof 0).
"""

import json
import os

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_absolute_percentage_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 11
QUANTILES = [0, 1, 5, 25, 50, 75, 95, 99, 100]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def classifier_case(name, y, s, threshold=0.5, bins=10):
    y = np.asarray(y, dtype=np.int64)
    s = np.asarray(s, dtype=np.float64)
    pred = (s >= threshold).astype(np.int64)
    prob_true, prob_pred = calibration_curve(y, s, n_bins=bins, strategy="uniform")
    return {
        "name": name,
        "threshold": threshold,
        "bins": bins,
        "y_true": y.tolist(),
        "y_score": s.tolist(),
        "expected": {
            "roc_auc": roc_auc_score(y, s),
            "pr_auc": average_precision_score(y, s),
            "log_loss": log_loss(y, s),
            "brier": brier_score_loss(y, s),
            "accuracy": accuracy_score(y, pred),
            "precision": precision_score(y, pred, zero_division=0),
            "recall": recall_score(y, pred, zero_division=0),
            "f1": f1_score(y, pred, zero_division=0),
            "calibration_true": prob_true.tolist(),
            "calibration_pred": prob_pred.tolist(),
        },
    }


def regressor_case(name, y, p):
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    return {
        "name": name,
        "y_true": y.tolist(),
        "y_pred": p.tolist(),
        "expected": {
            "rmse": root_mean_squared_error(y, p),
            "mae": mean_absolute_error(y, p),
            "r2": r2_score(y, p),
            "mape": mean_absolute_percentage_error(y, p),
        },
    }


def quantile_case(name, d):
    d = np.asarray(d, dtype=np.float64)
    return {
        "name": name,
        "values": d.tolist(),
        "q": QUANTILES,
        "expected": {
            "quantiles": np.percentile(d, QUANTILES).tolist(),
            "mean": float(np.mean(d)),
            "std": float(np.std(d)),
        },
    }


def main():
    rng = np.random.default_rng(SEED)
    cls = []

    n = 500
    y = (rng.random(n) < 0.3).astype(int)
    s = sigmoid(rng.normal(size=n) + 1.5 * y - 0.8)
    cls.append(classifier_case("random", y, s))
    cls.append(classifier_case("random_threshold_0.3_bins_5", y, s, threshold=0.3, bins=5))
    cls.append(classifier_case("ties_3_decimals", y, np.round(s, 3)))
    cls.append(classifier_case("ties_1_decimal", y, np.round(s, 1), bins=20))

    n = 2000
    y = (rng.random(n) < 0.02).astype(int)
    s = sigmoid(rng.normal(size=n) * 1.2 + 2.0 * y - 3.0)
    cls.append(classifier_case("imbalanced_2pct", y, s, threshold=0.2))

    y = [1, 0, 1, 1, 0, 0, 1, 0, 1, 0]
    s = [1.0, 0.0, 0.0, 0.999999, 1.0, 1e-20, 0.5, 0.5, 0.75, 0.25]
    cls.append(classifier_case("extremes_clipped_log_loss", y, s))

    y = [0, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1]
    s = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    cls.append(classifier_case("bin_edges", y, s))

    y = [0, 0, 0, 1, 1, 1]
    s = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]
    cls.append(classifier_case("separable", y, s))

    y = [0, 1, 0, 1, 0, 1, 0, 1]
    s = [0.4] * 8
    cls.append(classifier_case("all_tied", y, s))

    y = [0, 0, 1, 0, 0, 1]
    s = [0.1, 0.2, 0.3, 0.1, 0.2, 0.3]
    cls.append(classifier_case("no_predicted_positive", y, s, threshold=0.9))

    reg = []
    n = 400
    y = rng.normal(loc=10, scale=3, size=n)
    reg.append(regressor_case("random", y, y + rng.normal(scale=0.7, size=n)))
    y = rng.normal(size=50)
    y[::7] = 0.0
    reg.append(regressor_case("zeros_in_y", y, y + rng.normal(scale=0.1, size=50)))
    reg.append(regressor_case("constant_y", [2.0] * 5, [1.0, 2.0, 3.0, 2.0, 2.5]))
    reg.append(regressor_case("constant_y_perfect", [2.0] * 4, [2.0] * 4))
    reg.append(regressor_case("small", [3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]))

    qs = []
    qs.append(quantile_case("normal_1000", rng.normal(scale=0.05, size=1000)))
    qs.append(quantile_case("small_7", [0.3, -0.1, 0.0, 0.2, 0.2, -0.4, 1.0]))
    qs.append(quantile_case("one", [0.25]))

    out = {
        "generator": "testdata/replay/make_fixtures.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "classifier": cls,
        "regressor": reg,
        "quantiles": qs,
    }
    path = os.path.join(HERE, "metrics.json")
    # One case per line: diffs stay readable and the file stays small.
    lines = ["{"]
    head = [k for k in out if not isinstance(out[k], list)]
    for k in head:
        lines.append(" %s: %s," % (json.dumps(k), json.dumps(out[k])))
    groups = [k for k in out if isinstance(out[k], list)]
    for gi, k in enumerate(groups):
        lines.append(" %s: [" % json.dumps(k))
        for i, case in enumerate(out[k]):
            sep = "," if i < len(out[k]) - 1 else ""
            lines.append("  " + json.dumps(case, separators=(",", ":")) + sep)
        lines.append(" ]" + ("," if gi < len(groups) - 1 else ""))
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
