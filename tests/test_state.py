"""nnfast.state: its table names everything a fitted estimator holds, export / restore is
exact, and it is the only module of nnfast.io's kind that touches private attributes."""
import ast
import pathlib
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import nnfast
from nnfast import MLPClassifier, MLPRegressor, state

RNG = np.random.RandomState(5)
X = RNG.normal(size=(50, 4))
Y = {MLPClassifier: np.array(["a", "b", "c"])[np.digitize(X[:, 0], [-0.4, 0.4])],
     MLPRegressor: X @ np.arange(4.0)}
SOLVERS = [{"solver": "adam"}, {"solver": "sgd", "early_stopping": True}, {"solver": "lbfgs"}]

# attributes a fit sets that are not fitted state: the random generator each fit makes
# anew from random_state, and the classifier's fixed loss name
NOT_STATE = {"_random_state", "loss"}


def _fit(cls, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(hidden_layer_sizes=(5, 3), max_iter=8, random_state=0, **kw).fit(X, Y[cls])


@pytest.mark.parametrize("kw", SOLVERS, ids=lambda kw: kw["solver"])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_the_table_names_every_fitted_attribute(cls, kw):
    est = _fit(cls, **kw)
    held = set(vars(est)) - set(est.get_params(deep=False)) - NOT_STATE
    assert held <= {f.attr for f in state.FIELDS}, sorted(held - {f.attr for f in state.FIELDS})


@pytest.mark.parametrize("kw", SOLVERS, ids=lambda kw: kw["solver"])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_export_then_restore_is_the_same_model(cls, kw):
    est = _fit(cls, **kw)
    data = state.export(est)
    got = state.restore(cls, data)
    assert type(got) is cls and got.get_params() == est.get_params()
    for field in state.FIELDS:
        assert hasattr(got, field.attr) == hasattr(est, field.attr), field.attr
        a, b = getattr(est, field.attr, None), getattr(got, field.attr, None)
        if a is None or b is None:
            assert a is b, field.attr
        elif field.kind == "arrays":
            for x, y in zip(a, b):
                assert x.dtype == y.dtype and x.tobytes() == y.tobytes()
                assert not np.shares_memory(x, y)
        elif field.kind in ("labels", "names"):
            assert np.array_equal(a, b) and (a is None or a.dtype == b.dtype)
        elif field.kind == "binarizer":
            assert vars(a).keys() == vars(b).keys()
            assert all(np.array_equal(vars(a)[k], vars(b)[k]) for k in vars(a))
        elif field.kind == "optimizer":
            assert type(a) is type(b)
            kind = data["optimizer"]["kind"]
            for name in state.OPTIMIZERS[kind]["arrays"]:
                for x, y in zip(getattr(a, name), getattr(b, name)):
                    assert x.tobytes() == y.tobytes() and not np.shares_memory(x, y)
            assert vars(a).keys() == vars(b).keys()
        else:
            assert a == b or (a != a and b != b), field.attr
    if kw["solver"] != "lbfgs":
        kw = {"classes": np.unique(Y[cls])} if cls is MLPClassifier else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for m in (est, got):
                m.set_params(early_stopping=False).partial_fit(X, Y[cls], **kw)
        for x, y in zip(est.coefs_ + est.intercepts_, got.coefs_ + got.intercepts_):
            assert x.tobytes() == y.tobytes()


def test_restore_refuses_what_it_does_not_know():
    data = state.export(_fit(MLPRegressor))
    with pytest.raises(ValueError, match=r"unknown parameters for MLPRegressor: \['evil'\]"):
        state.restore(MLPRegressor, {**data, "params": {**data["params"], "evil": 1}})
    with pytest.raises(ValueError, match=r"unknown fitted state \['payload'\]"):
        state.restore(MLPRegressor, {**data, "payload": 1})


def test_registry():
    assert state.estimator_class("MLPClassifier") is MLPClassifier
    with pytest.raises(ValueError, match="unknown estimator class 'os.system'"):
        state.estimator_class("os.system")
    with pytest.raises(ValueError, match="unknown estimator class"):
        state.estimator_class(["MLPClassifier"])

    class Mine(MLPRegressor):
        pass

    assert state.registered_name(Mine) == "MLPRegressor"
    assert state.registered_name(Mine()) == "MLPRegressor"
    assert state.registered_name(object()) is None
    assert state.is_classifier(MLPClassifier) and not state.is_classifier(MLPRegressor())


def test_io_reads_no_private_attribute():
    """nnfast.io goes through nnfast.state for everything an estimator holds."""
    root = pathlib.Path(nnfast.__file__).with_name("io")
    sources = sorted(root.glob("*.py"))
    assert {p.name for p in sources} >= {"persistence.py", "interop.py"}
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        private = sorted({node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                          and node.attr.startswith("_") and not node.attr.startswith("__")})
        assert not private, f"{path.name} reads {private}"


def _changed(data, **changes):
    out = dict(data)
    for key, value in changes.items():
        out[key] = value
    return out


@pytest.mark.parametrize("case", ["identity head", "exp head", "duplicate classes",
                                  "unsorted classes", "nan weight", "inf best weight",
                                  "activation evil", "n_jobs x", "zero hidden units",
                                  "layers", "binary with 3 classes", "negative count",
                                  "nan optimizer state", "feature names"])
def test_restore_refuses_a_model_no_fit_could_make(case):
    est = _fit(MLPClassifier, solver="sgd")
    data = state.export(est)
    W = [w.copy() for w in data["coefs_"]]
    W[0][0, 0] = np.nan
    opt = dict(data["optimizer"], velocities=[v.copy() for v in data["optimizer"]["velocities"]])
    opt["velocities"][1][0, 0] = np.nan  # inf is kept: an overflow a fit can reach
    bad = {
        "identity head": _changed(data, out_activation_="identity"),
        "exp head": _changed(data, out_activation_="exp"),
        "duplicate classes": _changed(data, classes_=np.array(["a", "a", "c"])),
        "unsorted classes": _changed(data, classes_=np.array(["c", "b", "a"])),
        "nan weight": _changed(data, coefs_=W),
        "inf best weight": _changed(data, best_coefs=W),
        "activation evil": _changed(data, params={**data["params"], "activation": "evil"}),
        "n_jobs x": _changed(data, params={**data["params"], "n_jobs": "x"}),
        "zero hidden units": _changed(data, params={**data["params"],
                                                    "hidden_layer_sizes": (5, 0)}),
        "layers": _changed(data, n_layers_=5),
        "binary with 3 classes": _changed(data, label_binarizer={
            **data["label_binarizer"], "y_type_": "binary"}),
        "negative count": _changed(data, n_iter_=-1),
        "nan optimizer state": _changed(data, optimizer=opt),
        "feature names": _changed(data, feature_names_in_=np.array(["a"], dtype=object)),
    }[case]
    with pytest.raises(ValueError, match="invalid model"):
        state.restore(MLPClassifier, bad)


def test_restore_checks_a_regressors_head():
    data = state.export(_fit(MLPRegressor))
    for head in ("logistic", "softmax", "exp"):
        with pytest.raises(ValueError, match="out_activation_"):
            state.restore(MLPRegressor, {**data, "out_activation_": head})
    poisson = {**data, "params": {**data["params"], "loss": "poisson"}}
    with pytest.raises(ValueError, match="out_activation_='identity'"):
        state.restore(MLPRegressor, poisson)
    assert state.restore(MLPRegressor, {**poisson, "out_activation_": "exp"}).loss == "poisson"
