"""est.save(path) / nnfast.load(path): exact round trips, no pickle, and every refusal."""
import json
import pathlib
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
pd = pytest.importorskip("pandas")

import nnfast
from nnfast import MLPClassifier, MLPRegressor
from nnfast.io import persistence

RNG = np.random.RandomState(0)
X = RNG.normal(size=(60, 5))
NAMES = [f"f{i}" for i in range(5)]


def _targets(kind):
    if kind == "binary":
        return (X[:, 0] > 0).astype(int)
    if kind == "multiclass_str":
        return np.array(["cat", "dog", "emu"], dtype=object)[np.digitize(X[:, 1], [-0.5, 0.5])]
    if kind == "multiclass_int32":
        return np.digitize(X[:, 1], [-0.5, 0.5]).astype(np.int32) * 7 - 3
    if kind == "bool":
        return X[:, 2] > 0
    if kind == "multilabel":
        return (X[:, :3] > 0).astype(int)
    if kind == "single":
        return X @ np.arange(5.0)
    if kind == "multi":
        return np.c_[X @ np.arange(5.0), np.sin(X[:, 0])]
    raise AssertionError(kind)


def _fit(cls, kind, dtype, solver="adam", frame=True, **kw):
    Xd = X.astype(dtype)
    Xin = pd.DataFrame(Xd, columns=NAMES) if frame else Xd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = {"hidden_layer_sizes": (7, 4), **kw}
        return cls(solver=solver, max_iter=15, random_state=1, **kw).fit(Xin, _targets(kind)), Xin


def _same_predictions(a, b, Xin):
    pa, pb = a.predict(Xin), b.predict(Xin)
    assert pa.dtype == pb.dtype and np.array_equal(pa, pb)
    if hasattr(a, "predict_proba"):
        qa, qb = a.predict_proba(Xin), b.predict_proba(Xin)
        assert qa.dtype == qb.dtype
        assert qa.tobytes() == qb.tobytes()  # bit for bit
    else:
        assert pa.tobytes() == pb.tobytes()


@pytest.fixture
def no_pickle(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("pickle used on load")

    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "Unpickler", boom)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("cls,kind", [
    (MLPClassifier, "binary"), (MLPClassifier, "multiclass_str"),
    (MLPClassifier, "multiclass_int32"), (MLPClassifier, "bool"),
    (MLPClassifier, "multilabel"), (MLPRegressor, "single"), (MLPRegressor, "multi"),
])
def test_round_trip(tmp_path, no_pickle, cls, kind, dtype):
    est, Xin = _fit(cls, kind, dtype)
    path = tmp_path / "model.nnf"
    est.save(path)
    assert path.exists() and not (tmp_path / "model.nnf.npz").exists()
    got = nnfast.load(path)
    assert type(got) is cls
    _same_predictions(est, got, Xin)
    assert got.coefs_[0].dtype == np.dtype(dtype)
    for a, b in zip(est.coefs_ + est.intercepts_, got.coefs_ + got.intercepts_):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert list(got.feature_names_in_) == NAMES and got.feature_names_in_.dtype == object
    if cls is MLPClassifier:
        assert got.classes_.dtype == est.classes_.dtype
        assert np.array_equal(got.classes_, est.classes_)
        assert [type(c) for c in got.classes_] == [type(c) for c in est.classes_]
        assert got._label_binarizer.y_type_ == est._label_binarizer.y_type_
    for name in ("n_features_in_", "n_outputs_", "n_layers_", "out_activation_", "n_iter_",
                 "t_", "loss_", "best_loss_", "loss_curve_", "validation_scores_",
                 "best_validation_score_"):
        assert getattr(got, name) == getattr(est, name), name
    ignore = {"callbacks"}
    assert {k: v for k, v in got.get_params().items() if k not in ignore} == \
        {k: v for k, v in est.get_params().items() if k not in ignore}
    assert got.score(Xin, _targets(kind)) == est.score(Xin, _targets(kind))


def test_overflowed_optimizer_state_round_trips(tmp_path):
    """Adam's second moments overflow to inf on extreme inputs while the weights stay finite
    (a model that predicts well): the file keeps the state as the estimator held it, and the
    loaded model continues exactly as the saved one (the loader refused it before)."""
    est, Xin = _fit(MLPClassifier, "multiclass_str", np.float64, solver="adam")
    est._optimizer.vs[0][0, 0] = np.inf
    est.save(tmp_path / "m.npz")
    got = nnfast.load(tmp_path / "m.npz")
    assert np.isposinf(got._optimizer.vs[0][0, 0])
    _same_predictions(est, got, Xin)
    y = _targets("multiclass_str")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in (est, got):
            model.partial_fit(Xin, y)
    _same_predictions(est, got, Xin)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_continues_exactly(tmp_path, solver):
    """The optimizer state is saved: partial_fit after load = partial_fit without saving."""
    est, Xin = _fit(MLPClassifier, "multiclass_str", np.float64, solver=solver)
    est.save(tmp_path / "m.npz")
    got = nnfast.load(tmp_path / "m.npz")
    y = _targets("multiclass_str")
    for _ in range(3):
        est.partial_fit(Xin, y)
        got.partial_fit(Xin, y)
    _same_predictions(est, got, Xin)
    assert got.loss_curve_ == est.loss_curve_ and got.t_ == est.t_


def test_lbfgs_early_stopping_and_params(tmp_path):
    est, Xin = _fit(MLPRegressor, "single", np.float64, solver="lbfgs", frame=False)
    est.save(tmp_path / "a.npz")
    got = nnfast.load(tmp_path / "a.npz")
    _same_predictions(est, got, Xin)
    assert not hasattr(got, "feature_names_in_")
    est, Xin = _fit(MLPClassifier, "multiclass_str", np.float32, early_stopping=True,
                    class_weight={"cat": 2.0, "dog": 1.0, "emu": 1.0}, n_iter_no_change=np.inf,
                    callbacks=[lambda e, i: False], hidden_layer_sizes=[6])
    est.save(tmp_path / "b.npz")
    got = nnfast.load(tmp_path / "b.npz")
    _same_predictions(est, got, Xin)
    assert got.class_weight == est.class_weight and got.n_iter_no_change == np.inf
    assert got.hidden_layer_sizes == [6] and got.callbacks is None
    assert got.validation_scores_ == est.validation_scores_
    assert got.validation_loss_curve_ == est.validation_loss_curve_


def test_random_generator_not_saved(tmp_path):
    Xd = X.astype(np.float64)
    est = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=np.random.RandomState(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(Xd, _targets("single"))
    with pytest.warns(UserWarning, match="random_state"):
        est.save(tmp_path / "r.npz")
    assert nnfast.load(tmp_path / "r.npz").random_state is None


def test_unfitted_and_file_object(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MLPClassifier().save(tmp_path / "x.npz")
    est, Xin = _fit(MLPRegressor, "multi", np.float32)
    import io

    buf = io.BytesIO()
    persistence.save(est, buf)
    buf.seek(0)
    _same_predictions(est, nnfast.load(buf), Xin)


# ---------------------------------------------------------------------------
# refusals
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    est, _ = _fit(MLPClassifier, "multiclass_str", np.float64, solver="sgd")
    path = tmp_path_factory.mktemp("saved") / "m.npz"
    est.save(path)
    return path


def _parts(path):
    with np.load(path, allow_pickle=False) as npz:
        members = {k: npz[k] for k in npz.files}
    meta = json.loads(members.pop("__metadata__").tobytes())
    members.pop("__sha256__")
    return meta, members


def _rewrite(tmp_path, meta, members, name="crafted.npz"):
    """A file with a *valid* hash over inconsistent content (the structural checks must
    catch what the hash cannot)."""
    out = tmp_path / name
    persistence._write(out, meta, members)
    return out


def test_refuses_truncated(saved, tmp_path):
    data = saved.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        p = tmp_path / f"t{cut}.npz"
        p.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="truncated"):
            nnfast.load(p)


def test_refuses_bad_zip(tmp_path):
    p = tmp_path / "junk.npz"
    p.write_bytes(b"PK\x03\x04 definitely not a zip archive" * 10)
    with pytest.raises(ValueError, match="not a valid npz"):
        nnfast.load(p)
    p.write_bytes(b"\x93NUMPY not an npz either")
    with pytest.raises(ValueError, match="not an npz"):
        nnfast.load(p)
    with open(p, "wb") as f:
        np.save(f, np.zeros(3))  # a .npy, not an .npz
    with pytest.raises(ValueError, match="not an npz"):
        nnfast.load(p)
    p.write_bytes(b"")
    with pytest.raises(ValueError, match="empty or truncated"):
        nnfast.load(p)


def test_refuses_tampered_array(saved, tmp_path):
    _, members = _parts(saved)
    members["coefs_0"] = members["coefs_0"].copy()
    members["coefs_0"][0, 0] += 1e-9
    p = tmp_path / "tampered.npz"
    # write with the original hash, i.e. an edit made after saving
    with np.load(saved, allow_pickle=False) as npz:
        digest, raw = npz["__sha256__"], npz["__metadata__"]
    np.savez(p, __metadata__=raw, __sha256__=digest, **members)
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        nnfast.load(p)


def test_refuses_tampered_metadata(saved, tmp_path):
    meta, members = _parts(saved)
    meta["fitted"]["n_iter_"] += 1
    with np.load(saved, allow_pickle=False) as npz:
        digest = npz["__sha256__"]
    p = tmp_path / "meta.npz"
    np.savez(p, __metadata__=np.frombuffer(json.dumps(meta).encode(), np.uint8),
             __sha256__=digest, **members)
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        nnfast.load(p)


def test_refuses_bit_flip(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    i = data.find(b"coefs_0.npy") + 200  # inside that member's data
    data[i] ^= 0x01
    p = tmp_path / "flip.npz"
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256 mismatch|not a valid npz"):
        nnfast.load(p)


def test_refuses_missing_hash_and_metadata(saved, tmp_path):
    meta, members = _parts(saved)
    p = tmp_path / "nohash.npz"
    np.savez(p, __metadata__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **members)
    with pytest.raises(ValueError, match="no __sha256__"):
        nnfast.load(p)
    np.savez(p, **members)
    with pytest.raises(ValueError, match="no __metadata__"):
        nnfast.load(p)


def test_refuses_missing_and_extra_arrays(saved, tmp_path):
    meta, members = _parts(saved)
    del members["intercepts_1"]
    with pytest.raises(ValueError, match=r"missing arrays: \['intercepts_1'\]"):
        nnfast.load(_rewrite(tmp_path, meta, members))
    meta, members = _parts(saved)
    members["payload"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"unexpected extra arrays: \['payload'\]"):
        nnfast.load(_rewrite(tmp_path, meta, members))
    # also when the manifest was edited to list it
    meta["arrays"]["payload"] = ["<f8", [3]]
    with pytest.raises(ValueError, match=r"unexpected extra arrays: \['payload'\]"):
        nnfast.load(_rewrite(tmp_path, meta, members))
    meta, members = _parts(saved)
    del members["opt_s1_0"], meta["arrays"]["opt_s1_0"]
    with pytest.raises(ValueError, match="missing arrays"):
        nnfast.load(_rewrite(tmp_path, meta, members))


def test_refuses_wrong_shapes_and_dtypes(saved, tmp_path):
    meta, members = _parts(saved)
    members["coefs_1"] = members["coefs_1"][:, :2].copy()
    with pytest.raises(ValueError, match="'coefs_1' has dtype .* and shape"):
        nnfast.load(_rewrite(tmp_path, meta, members))
    meta["arrays"]["coefs_1"][1] = [members["coefs_1"].shape[0], 2]  # manifest agrees
    with pytest.raises(ValueError, match=r"'coefs_1' has shape \(7, 2\); layer 1 needs \(7, 4\)"):
        nnfast.load(_rewrite(tmp_path, meta, members))
    meta, members = _parts(saved)
    members["coefs_0"] = members["coefs_0"].astype(np.float32)
    meta["arrays"]["coefs_0"][0] = "<f4"
    with pytest.raises(ValueError, match="'coefs_0' has dtype float32; the model's is float64"):
        nnfast.load(_rewrite(tmp_path, meta, members))
    meta, members = _parts(saved)
    meta["layer_shapes"][1][0] = 5
    with pytest.raises(ValueError, match="do not chain"):
        nnfast.load(_rewrite(tmp_path, meta, members))
    meta, members = _parts(saved)
    meta["fitted"]["n_features_in_"] = 4
    with pytest.raises(ValueError, match="n_features_in_=4 does not match"):
        nnfast.load(_rewrite(tmp_path, meta, members))


def test_refuses_format_and_version(saved, tmp_path):
    meta, members = _parts(saved)
    meta["format"] = "something-else"
    with pytest.raises(ValueError, match="unknown format 'something-else'"):
        nnfast.load(_rewrite(tmp_path, meta, members))
    meta, members = _parts(saved)
    meta["format_version"] = persistence.FORMAT_VERSION + 1
    with pytest.raises(ValueError, match="format version 2 is newer than this nnfast reads"):
        nnfast.load(_rewrite(tmp_path, meta, members))
    meta["format_version"] = "1"
    with pytest.raises(ValueError, match="invalid format version"):
        nnfast.load(_rewrite(tmp_path, meta, members))


def test_refuses_unknown_estimator_and_params(saved, tmp_path):
    meta, members = _parts(saved)
    meta["estimator"] = "os.system"
    with pytest.raises(ValueError, match="unknown estimator class 'os.system'"):
        nnfast.load(_rewrite(tmp_path, meta, members))
    meta, members = _parts(saved)
    meta["params"]["evil"] = 1
    with pytest.raises(ValueError, match=r"unknown parameters for MLPClassifier: \['evil'\]"):
        nnfast.load(_rewrite(tmp_path, meta, members))


def test_refuses_pickled_member(saved, tmp_path):
    meta, members = _parts(saved)
    members["classes_"] = members["classes_"].astype(object)
    p = tmp_path / "obj.npz"
    np.savez(p, __metadata__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **members)
    with pytest.raises(ValueError, match="needs pickle"):
        nnfast.load(p)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        nnfast.load(tmp_path / "nope.npz")


def test_warm_start_continues_exactly(tmp_path):
    """A warm-started fit of a loaded model = the same fit of the model that was saved."""
    for solver in ("sgd", "adam"):
        est, Xin = _fit(MLPRegressor, "multi", np.float32, solver=solver, warm_start=True,
                        learning_rate="adaptive")
        est.save(tmp_path / "w.npz")
        got = nnfast.load(tmp_path / "w.npz")
        y = _targets("multi")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(Xin, y)
            got.fit(Xin, y)
        _same_predictions(est, got, Xin)
        for a, b in zip(est.coefs_ + est.intercepts_, got.coefs_ + got.intercepts_):
            assert a.tobytes() == b.tobytes()
        assert got.loss_curve_ == est.loss_curve_ and got.n_iter_ == est.n_iter_


# ---------------------------------------------------------------------------
# files written before the fitted state had its own module (tests/data)
# ---------------------------------------------------------------------------

# Written by nnfast at commit 3dfb3ba (the writer as it was before nnfast.state) with
#   X = np.random.RandomState(0).normal(size=(40, 5))
#   MLPClassifier(hidden_layer_sizes=(4,), solver="sgd", learning_rate="invscaling",
#                 learning_rate_init=0.05, max_iter=6, random_state=1, class_weight={"cat": 2.0,
#                 "dog": 1.0, "emu": 1.0}).fit(DataFrame(X, columns=f0..f4), cat/dog/emu by X[:, 1])
#   MLPRegressor(hidden_layer_sizes=(3, 2), solver="adam", early_stopping=True,
#                n_iter_no_change=np.inf, max_iter=8, random_state=2).fit(
#       X.astype(np.float32), np.c_[X @ np.arange(5.0), np.sin(X[:, 0])])
LEGACY = pathlib.Path(__file__).with_name("data")
LEGACY_FILES = ["nnfast-mlp-v1-classifier-sgd.nnf", "nnfast-mlp-v1-regressor-adam-f32.nnf"]
LEGACY_X = np.random.RandomState(0).normal(size=(40, 5))


def _numpy_forward(meta, members, X):
    """The saved network's output by NumPy alone (relu hidden layers)."""
    A = X.astype(meta["dtype"])
    L = len(meta["layer_shapes"])
    for i in range(L):
        A = A @ members[f"coefs_{i}"] + members[f"intercepts_{i}"]
        if i < L - 1:
            A = np.maximum(A, 0)
    if meta["fitted"]["out_activation_"] == "softmax":
        A = np.exp(A - A.max(axis=1, keepdims=True))
        A /= A.sum(axis=1, keepdims=True)
    return A


@pytest.mark.parametrize("name", LEGACY_FILES)
def test_files_from_the_previous_writer_load_with_the_same_arrays(tmp_path, no_pickle, name):
    path = LEGACY / name
    meta, members = _parts(path)
    est = nnfast.load(path)
    L = len(meta["layer_shapes"])
    for i in range(L):
        for got, key in ((est.coefs_[i], f"coefs_{i}"), (est.intercepts_[i], f"intercepts_{i}")):
            assert got.dtype == members[key].dtype and got.tobytes() == members[key].tobytes()
    opt = est._optimizer
    states = [opt.velocities] if meta["optimizer"]["type"] == "sgd" else [opt.ms, opt.vs]
    for tag, state in zip(("s1", "s2"), states):
        for j, s in enumerate(state):
            assert s.tobytes() == members[f"opt_{tag}_{j}"].tobytes()
    assert float(opt.learning_rate) == meta["optimizer"]["learning_rate"]
    for key, value in meta["fitted"].items():
        assert getattr(est, key) == persistence._loads(json.dumps(value).encode(), 64, 64), key
    for key, stored in meta["lists"].items():
        assert getattr(est, key) == (members[key].tolist() if stored else None), key
    X = LEGACY_X if meta["feature_names_in_"] is None else pd.DataFrame(
        LEGACY_X, columns=meta["feature_names_in_"])
    out = est.predict_proba(X) if meta["classes"] else est.predict(X.astype(np.float32))
    rtol = 1e-12 if meta["dtype"] == "float64" else 1e-5
    np.testing.assert_allclose(out, _numpy_forward(meta, members, LEGACY_X), rtol=rtol,
                               atol=rtol)

    # the writer of today writes the same file: metadata (but the writer's version), arrays
    est.save(tmp_path / "again.nnf")
    meta2, members2 = _parts(tmp_path / "again.nnf")
    # (parameters added since that writer appear at their defaults)
    since = {"reduction_chunks": None}
    assert {**meta2, "nnfast_version": None} == {**meta, "nnfast_version": None,
                                                 "params": {**meta["params"], **since}}
    assert sorted(members2) == sorted(members)
    for key, a in members.items():
        assert members2[key].dtype == a.dtype and members2[key].tobytes() == a.tobytes(), key

    # and training continues from it exactly as from the model read back
    again = nnfast.load(tmp_path / "again.nnf")
    y = est.predict(X if meta["classes"] else X.astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.set_params(early_stopping=False).partial_fit(X, y)
        again.set_params(early_stopping=False).partial_fit(X, y)
    for a, b in zip(est.coefs_ + est.intercepts_, again.coefs_ + again.intercepts_):
        assert a.tobytes() == b.tobytes()
