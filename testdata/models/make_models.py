"""Writes the ONNX test models for streamscore into testdata/models/.

Run it with `make models`, or by hand from the repository root:

    /root/.cache/streamscore/venv/bin/python testdata/models/make_models.py

(any Python with numpy, scikit-learn, skl2onnx, onnx and onnxruntime will do).
With --typed it writes the typed-input fixtures of typed_models.py into
testdata/models/typed/ instead (packages pinned in requirements.txt).
Every random draw uses a fixed seed (7), so the models are the same on every run;
the files are small and kept in git, so tests never need Python.

Files written (all with input `features`, float32, shape [N, F], N dynamic):

  linear.onnx            scikit-learn LinearRegression on 32 features f00..f31,
                         output `variable` float32 [N, 1].
  linear.weights.json    {"features": [...], "coef": [32], "intercept": x}, the
                         float32 values the model holds, so tests can compute
                         coef·x + intercept on their own.
  mlp.onnx               MLPClassifier (128, 128), binary, zipmap off: outputs
                         `label` int64 [N] and `probabilities` float32 [N, 2].
  mlp_score.onnx         the benchmark model, 32->128->128->1 built with
                         onnx.helper (MatMul+Add+Relu, MatMul+Add+Relu,
                         MatMul+Add+Sigmoid), output `score` float32 [N, 1].
  mlp_score.golden.json  8 input rows and the outputs Python onnxruntime
                         computes for them.
  bad_shape.onnx         a LinearRegression on 16 features, to test that a model
                         that does not fit the schema is refused.
  linear_v2.onnx         a second version of linear.onnx: LinearRegression on
                         other data (seed 8), same input and output, with
                         metadata_props {"streamscore.model": "linear",
                         "streamscore.version": "2"}; for swap, canary and
                         challenger tests.
  linear_v2.weights.json its float32 weights, as linear.weights.json.

Every model is written with opset 17 (ai.onnx.ml 3) and IR version 8, which
ONNX Runtime 1.24.1 (the version streamscore loads) reads; the newest onnx
package would otherwise stamp an IR version older runtimes refuse.
"""

import json
import os
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.neural_network import MLPClassifier

SEED = 7
FEATURES = 32
OPSET = 17
ML_OPSET = 3
IR_VERSION = 8
HERE = os.path.dirname(os.path.abspath(__file__))


def feature_names(n):
    return ["f%02d" % i for i in range(n)]


def finish(model, name, doc, folder=HERE):
    """Pins the IR version and the metadata that would otherwise vary, then
    checks and saves the model as folder/name.onnx."""
    model.ir_version = IR_VERSION
    # skl2onnx can list the same opset twice; keep one entry per domain.
    seen = {}
    for op in model.opset_import:
        seen[op.domain] = max(op.version, seen.get(op.domain, 0))
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in sorted(seen.items()))
    model.producer_name = "streamscore make_models.py"
    model.producer_version = "1"
    model.doc_string = doc
    model.graph.name = name
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(folder, name + ".onnx")
    onnx.save_model(model, path)
    return path


def synthetic(n_rows, n_features, seed):
    """Returns X (float32) and a linear target with a little noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=(n_rows, n_features)).astype(np.float32)
    w = rng.uniform(-0.5, 0.5, size=n_features)
    y = x.astype(np.float64) @ w + 0.25 + rng.normal(0.0, 0.1, size=n_rows)
    return x, y


def convert(estimator, n_features, options=None):
    return convert_sklearn(
        estimator,
        initial_types=[("features", FloatTensorType([None, n_features]))],
        target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
        options=options,
    )


def make_linear():
    x, y = synthetic(2000, FEATURES, SEED)
    reg = LinearRegression().fit(x, y)
    model = convert(reg, FEATURES)
    finish(model, "linear", "LinearRegression on f00..f31 (seed 7)")
    # The model holds float32 weights; write exactly those.
    coef = [float(np.float32(c)) for c in reg.coef_]
    intercept = float(np.float32(reg.intercept_))
    with open(os.path.join(HERE, "linear.weights.json"), "w") as f:
        json.dump(
            {"features": feature_names(FEATURES), "coef": coef, "intercept": intercept},
            f,
            indent=1,
        )
        f.write("\n")


def make_linear_v2():
    x, y = synthetic(2000, FEATURES, SEED + 1)
    reg = LinearRegression().fit(x, y)
    model = convert(reg, FEATURES)
    for k, v in (("streamscore.model", "linear"), ("streamscore.version", "2")):
        p = model.metadata_props.add()
        p.key, p.value = k, v
    finish(model, "linear_v2", "LinearRegression on f00..f31 (seed 8): version 2 of linear")
    coef = [float(np.float32(c)) for c in reg.coef_]
    intercept = float(np.float32(reg.intercept_))
    with open(os.path.join(HERE, "linear_v2.weights.json"), "w") as f:
        json.dump(
            {"features": feature_names(FEATURES), "coef": coef, "intercept": intercept},
            f,
            indent=1,
        )
        f.write("\n")


def make_bad_shape():
    x, y = synthetic(500, 16, SEED)
    reg = LinearRegression().fit(x, y)
    finish(convert(reg, 16), "bad_shape", "LinearRegression on 16 features: does not fit a 32-feature schema")


def make_mlp():
    x, y = synthetic(2000, FEATURES, SEED)
    labels = (y > np.median(y)).astype(np.int64)
    clf = MLPClassifier(hidden_layer_sizes=(128, 128), max_iter=30, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, labels)
    model = convert(clf, FEATURES, options={id(clf): {"zipmap": False}})
    finish(model, "mlp", "MLPClassifier (128, 128) binary on f00..f31 (seed 7), zipmap off")


def make_mlp_score():
    rng = np.random.default_rng(SEED)

    def dense(n_in, n_out, name):
        w = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out)).astype(np.float32)
        b = rng.normal(0.0, 0.05, size=(n_out,)).astype(np.float32)
        return [numpy_helper.from_array(w, name + "_w"), numpy_helper.from_array(b, name + "_b")]

    inits = dense(FEATURES, 128, "l1") + dense(128, 128, "l2") + dense(128, 1, "l3")
    nodes = [
        helper.make_node("MatMul", ["features", "l1_w"], ["l1_mm"]),
        helper.make_node("Add", ["l1_mm", "l1_b"], ["l1_add"]),
        helper.make_node("Relu", ["l1_add"], ["l1_out"]),
        helper.make_node("MatMul", ["l1_out", "l2_w"], ["l2_mm"]),
        helper.make_node("Add", ["l2_mm", "l2_b"], ["l2_add"]),
        helper.make_node("Relu", ["l2_add"], ["l2_out"]),
        helper.make_node("MatMul", ["l2_out", "l3_w"], ["l3_mm"]),
        helper.make_node("Add", ["l3_mm", "l3_b"], ["l3_add"]),
        helper.make_node("Sigmoid", ["l3_add"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp_score",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", FEATURES])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    path = finish(model, "mlp_score", "MLP 32->128->128->1, random weights (seed 7), sigmoid score")

    # Golden rows for model validation, scored by Python onnxruntime.
    x = np.random.default_rng(SEED + 1).normal(0.0, 1.0, size=(8, FEATURES)).astype(np.float32)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (score,) = sess.run(["score"], {"features": x})
    golden = {
        "model": "mlp_score.onnx",
        "input_name": "features",
        "output_name": "score",
        "onnxruntime": ort.__version__,
        "input": [[float(v) for v in row] for row in x],
        "output": [[float(v) for v in row] for row in score],
    }
    with open(os.path.join(HERE, "mlp_score.golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


def main():
    if "--typed" in sys.argv[1:]:
        # The typed-input fixtures need more packages (requirements.txt).
        import typed_models

        typed_models.write_all()
        return
    make_linear()
    make_linear_v2()
    make_bad_shape()
    make_mlp()
    make_mlp_score()
    for name in sorted(os.listdir(HERE)):
        if name.endswith((".onnx", ".json")):
            print("%-24s %8d bytes" % (name, os.path.getsize(os.path.join(HERE, name))))


if __name__ == "__main__":
    main()
