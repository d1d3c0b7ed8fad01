"""Typed-input test models for streamscore: the models users export from
pandas, scikit-learn, LightGBM, XGBoost and PyTorch, with several inputs of
different types, string categoricals, string labels and ZipMap outputs.

make_models.py calls write_all(); run it as

    python testdata/models/make_models.py --typed

with the packages pinned in testdata/models/requirements.txt. A framework
whose package is not installed is skipped with a message naming it; the files
already in git stay as they are.

Files written into testdata/models/typed/:

  events.jsonl            200 events (seed 7) carrying every field the models
                          read: id, amount, n_items, country, device,
                          f0..f3, cat, emb (8 numbers).
  <model>.onnx            one model per fixture (below).
  <model>.expected.json   what Python onnxruntime returns for every event:
                          {"onnxruntime": version, "outputs": {output:
                          [one value per event]}}; a ZipMap output's value is
                          a {"class": probability} object per event.

Fixtures:
  df_pipeline    Pipeline(ColumnTransformer(StandardScaler on amount and
                 n_items, OneHotEncoder on country and device),
                 LogisticRegression) converted with skl2onnx.to_onnx(pipe,
                 df[:1]): inputs amount float [N,1], n_items int64 [N,1],
                 country string [N,1], device string [N,1]; outputs
                 output_label int64 [N] and output_probability, a ZipMap
                 (sequence of map(int64, float)).
  rf_zipmap      RandomForestClassifier on f0..f3 (input features float
                 [N,4]) with string classes high/low/mid: output_label
                 string [N], output_probability ZipMap map(string, float).
  rf_nozipmap    the same forest converted with {'zipmap': False}:
                 output_probability float [N,3].
  lgbm_clf       LightGBM LGBMClassifier on f0..f3 via onnxmltools
                 (zipmap off): label int64 [N], probabilities float [N,2].
  lgbm_reg       LightGBM LGBMRegressor on f0..f3: variable float [N,1].
  xgb_clf        XGBoost XGBClassifier on f0..f3 via onnxmltools.
  xgb_reg        XGBoost XGBRegressor on f0..f3.
  torch_two_input a PyTorch module with two inputs, x float [N,4] (f0..f3)
                 and cat int64 [N] (an index into a 10x3 embedding),
                 exported with torch.onnx: score float [N,1].
  embedding      an input emb float [N,8] (a JSON array per event) and a
                 logistic layer: score float [N,1] (onnx.helper).
"""

import json
import os
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

SEED = 7
ROWS = 200
OPSET = 17
ML_OPSET = 3
IR_VERSION = 8
# onnxmltools converts to at most opset 15.
MLTOOLS_OPSET = 15
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "typed")
COUNTRIES = ["US", "DE", "FR", "GB", "IN"]
DEVICES = ["ios", "android", "web"]


def f32(v):
    """The float32 nearest v, as a Python float (exact)."""
    return float(np.float32(v))


def make_events():
    rng = np.random.default_rng(SEED)
    ev = []
    for i in range(ROWS):
        ev.append({
            "id": "t-%04d" % i,
            "amount": f32(round(float(rng.lognormal(3.0, 1.0)), 2)),
            "n_items": int(rng.integers(1, 11)),
            "country": COUNTRIES[int(rng.integers(0, len(COUNTRIES)))],
            "device": DEVICES[int(rng.integers(0, len(DEVICES)))],
            "f0": f32(rng.normal()), "f1": f32(rng.normal()),
            "f2": f32(rng.normal()), "f3": f32(rng.normal()),
            "cat": int(rng.integers(0, 10)),
            "emb": [f32(v) for v in rng.normal(0.0, 1.0, 8)],
        })
    return ev


def labels(ev, seed):
    """A binary target that depends on every field, with noise."""
    rng = np.random.default_rng(seed)
    y = []
    for e in ev:
        z = (0.02 * e["amount"] - 0.1 * e["n_items"] + (0.8 if e["country"] in ("US", "GB") else -0.4)
             + (0.5 if e["device"] == "web" else 0.0) + e["f0"] - 0.5 * e["f1"] + 0.3 * e["f2"] * e["f3"])
        y.append(int(z + rng.normal(0, 0.7) > 0))
    return np.array(y)


def fnum(ev):
    return np.array([[e["f0"], e["f1"], e["f2"], e["f3"]] for e in ev], dtype=np.float32)


def finish(model, name, doc):
    """Pins IR version and metadata, checks and saves the model in typed/."""
    import make_models  # make_models imports this module lazily: no cycle

    return make_models.finish(model, name, doc, folder=HERE)


def expected(path, feeds, ev):
    """Scores feeds with Python onnxruntime and writes <model>.expected.json."""
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    res = sess.run(names, feeds)
    outs = {}
    for name, val in zip(names, res):
        if isinstance(val, list):  # ZipMap: one {class: p} per row
            outs[name] = [{str(k): float(v) for k, v in row.items()} for row in val]
        else:
            val = np.asarray(val)
            rows = []
            for row in val.reshape(len(ev), -1):
                vals = [v.item() if not isinstance(v, str) else v for v in row]
                vals = [float(v) if isinstance(v, float) else v for v in vals]
                rows.append(vals[0] if len(vals) == 1 else vals)
            outs[name] = rows
    doc = {"model": os.path.basename(path), "onnxruntime": ort.__version__,
           "ids": [e["id"] for e in ev], "outputs": outs}
    with open(path[:-len(".onnx")] + ".expected.json", "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def make_df_pipeline(ev):
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from skl2onnx import to_onnx

    df = pd.DataFrame({
        "amount": np.array([e["amount"] for e in ev], dtype=np.float32),
        "n_items": np.array([e["n_items"] for e in ev], dtype=np.int64),
        "country": [e["country"] for e in ev],
        "device": [e["device"] for e in ev],
    })
    pipe = Pipeline([
        ("prep", ColumnTransformer([
            ("num", StandardScaler(), ["amount", "n_items"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["country", "device"]),
        ])),
        ("clf", LogisticRegression(max_iter=500)),
    ])
    pipe.fit(df, labels(ev, SEED + 1))
    model = to_onnx(pipe, df[:1], target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET})
    path = finish(model, "df_pipeline", "ColumnTransformer(StandardScaler, OneHotEncoder) + LogisticRegression")
    feeds = {
        "amount": df[["amount"]].to_numpy(),
        "n_items": df[["n_items"]].to_numpy(),
        "country": df[["country"]].to_numpy().astype(object),
        "device": df[["device"]].to_numpy().astype(object),
    }
    expected(path, feeds, ev)


def make_rf(ev):
    from sklearn.ensemble import RandomForestClassifier
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    x = fnum(ev)
    y = np.array(["low", "mid", "high"])[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)]
    rf = RandomForestClassifier(n_estimators=8, max_depth=4, random_state=SEED).fit(x, y)
    for name, opts in (("rf_zipmap", None), ("rf_nozipmap", {id(rf): {"zipmap": False}})):
        model = convert_sklearn(rf, initial_types=[("features", FloatTensorType([None, 4]))],
                                target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET}, options=opts)
        path = finish(model, name, "RandomForestClassifier, string classes")
        expected(path, {"features": x}, ev)


def make_lgbm(ev):
    try:
        import lightgbm
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError as e:
        print("skipping LightGBM fixtures: %s (pip install lightgbm onnxmltools)" % e)
        return
    x = fnum(ev)
    y = labels(ev, SEED + 2)
    clf = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=8, random_state=SEED, verbose=-1).fit(x, y)
    model = convert_lightgbm(clf, initial_types=[("features", FloatTensorType([None, 4]))],
                             target_opset=MLTOOLS_OPSET, zipmap=False)
    expected(finish(model, "lgbm_clf", "LGBMClassifier"), {"features": x}, ev)
    yr = x @ np.array([0.5, -1.0, 0.25, 2.0], dtype=np.float32) + 1.0
    reg = lightgbm.LGBMRegressor(n_estimators=10, num_leaves=8, random_state=SEED, verbose=-1).fit(x, yr)
    model = convert_lightgbm(reg, initial_types=[("features", FloatTensorType([None, 4]))], target_opset=MLTOOLS_OPSET)
    expected(finish(model, "lgbm_reg", "LGBMRegressor"), {"features": x}, ev)


def make_xgb(ev):
    try:
        import xgboost
        from onnxmltools import convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError as e:
        print("skipping XGBoost fixtures: %s (pip install xgboost onnxmltools)" % e)
        return
    x = fnum(ev)
    y = labels(ev, SEED + 3)
    clf = xgboost.XGBClassifier(n_estimators=10, max_depth=3, random_state=SEED).fit(x, y)
    model = convert_xgboost(clf, initial_types=[("features", FloatTensorType([None, 4]))], target_opset=MLTOOLS_OPSET)
    expected(finish(model, "xgb_clf", "XGBClassifier"), {"features": x}, ev)
    yr = x @ np.array([0.5, -1.0, 0.25, 2.0], dtype=np.float32) + 1.0
    reg = xgboost.XGBRegressor(n_estimators=10, max_depth=3, random_state=SEED).fit(x, yr)
    model = convert_xgboost(reg, initial_types=[("features", FloatTensorType([None, 4]))], target_opset=MLTOOLS_OPSET)
    expected(finish(model, "xgb_reg", "XGBRegressor"), {"features": x}, ev)


def make_torch(ev):
    try:
        import torch
    except ImportError as e:
        print("skipping the PyTorch fixture: %s (pip install torch)" % e)
        return

    class TwoInput(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, 3)
            self.lin = torch.nn.Linear(7, 1)

        def forward(self, x, cat):
            return torch.sigmoid(self.lin(torch.cat([x, self.emb(cat)], dim=1)))

    torch.manual_seed(SEED)
    net = TwoInput().eval()
    x = fnum(ev)
    cat = np.array([e["cat"] for e in ev], dtype=np.int64)
    path = os.path.join(HERE, "torch_two_input.onnx")
    torch.onnx.export(net, (torch.from_numpy(x[:2]), torch.from_numpy(cat[:2])), path,
                      input_names=["x", "cat"], output_names=["score"],
                      dynamic_axes={"x": {0: "N"}, "cat": {0: "N"}, "score": {0: "N"}},
                      opset_version=OPSET, dynamo=False)
    model = onnx.load(path)
    path = finish(model, "torch_two_input", "PyTorch: x [N,4] and an embedded category index")
    expected(path, {"x": x, "cat": cat}, ev)


def make_embedding(ev):
    rng = np.random.default_rng(SEED + 4)
    w = rng.normal(0, 0.5, size=(8, 1)).astype(np.float32)
    b = np.array([0.1], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["emb", "w"], ["z0"]),
         helper.make_node("Add", ["z0", "b"], ["z"]),
         helper.make_node("Sigmoid", ["z"], ["score"])],
        "embedding",
        [helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["N", 8])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    path = finish(model, "embedding", "sigmoid(emb . w + b) over an 8-wide embedding")
    emb = np.array([e["emb"] for e in ev], dtype=np.float32)
    expected(path, {"emb": emb}, ev)


def add_metrics(name, score, label, task):
    """Adds scikit-learn's metrics of one output column against the events'
    label field to <name>.expected.json, for the replay test."""
    from sklearn import metrics

    path = os.path.join(HERE, name + ".expected.json")
    with open(path) as f:
        doc = json.load(f)
    out, _, col = score.partition("[")
    def pick(row):
        if not col:
            return row[0] if isinstance(row, list) else row
        k = col[:-1]
        return row[k] if isinstance(row, dict) else row[int(k)]

    p = np.array([pick(row) for row in doc["outputs"][out]], dtype=np.float64)
    y = np.array(label, dtype=np.float64)
    if task == "classifier":
        m = {"roc_auc": metrics.roc_auc_score(y, p), "pr_auc": metrics.average_precision_score(y, p),
             "log_loss": metrics.log_loss(y, p), "brier": metrics.brier_score_loss(y, p),
             "accuracy": metrics.accuracy_score(y, p >= 0.5)}
    else:
        m = {"rmse": float(np.sqrt(metrics.mean_squared_error(y, p))), "mae": metrics.mean_absolute_error(y, p),
             "r2": metrics.r2_score(y, p)}
    doc["metrics"] = {"label": "label" if task == "classifier" else "y", "score": score, "task": task,
                      "values": {k: float(v) for k, v in m.items()}}
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def write_all():
    os.makedirs(HERE, exist_ok=True)
    warnings.filterwarnings("ignore")
    ev = make_events()
    # Labels for replay's metrics: the DataFrame pipeline's training target,
    # and the regressors'.
    y_cls = labels(ev, SEED + 1)
    y_reg = fnum(ev) @ np.array([0.5, -1.0, 0.25, 2.0], dtype=np.float32) + 1.0
    for e, yc, yr in zip(ev, y_cls, y_reg):
        e["label"] = int(yc)
        e["y"] = f32(yr)
    with open(os.path.join(HERE, "events.jsonl"), "w") as f:
        for e in ev:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
    make_df_pipeline(ev)
    make_rf(ev)
    make_lgbm(ev)
    make_xgb(ev)
    make_torch(ev)
    make_embedding(ev)
    add_metrics("df_pipeline", "output_probability[1]", y_cls, "classifier")
    if os.path.exists(os.path.join(HERE, "lgbm_reg.onnx")):
        add_metrics("lgbm_reg", "variable", [e["y"] for e in ev], "regressor")
    for name in sorted(os.listdir(HERE)):
        print("typed/%-30s %8d bytes" % (name, os.path.getsize(os.path.join(HERE, name))))
