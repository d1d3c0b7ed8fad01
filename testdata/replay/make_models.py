"""Writes the two small ONNX models the replay tests compare.

Run it from the repository root:

    /root/.cache/streamscore/venv/bin/python testdata/replay/make_models.py

(any Python with numpy and onnx will do). The files are tiny and kept in git.

Both models take `features`, float32 [N, 32] (the schema of
testdata/mlp_score.schema.yaml), and return `score`, float32 [N, 1]:

  champion.onnx    score = sigmoid(4 * f00)
  challenger.onnx  score = sigmoid(4 * f01)

so at the threshold 0.5 they decide differently exactly on the rows where
f00 and f01 have different signs, which a test can compute from the events
alone (with features kept away from 0, where float rounding could tip a
decision).
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
FEATURES = 32


def sign_model(name, column, doc):
    w = np.zeros((FEATURES, 1), dtype=np.float32)
    w[column, 0] = 4.0
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "w"], ["z"]),
            helper.make_node("Sigmoid", ["z"], ["score"]),
        ],
        name,
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, FEATURES])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model.producer_name = "streamscore testdata/replay/make_models.py"
    model.producer_version = "1"
    model.doc_string = doc
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(HERE, name + ".onnx")
    onnx.save_model(model, path)
    print("wrote", path)


def main():
    sign_model("champion", 0, "score = sigmoid(4 * f00)")
    sign_model("challenger", 1, "score = sigmoid(4 * f01)")


if __name__ == "__main__":
    main()
