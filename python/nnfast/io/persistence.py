"""Saving and loading fitted MLP estimators without pickle: ``est.save(path)``,
``nnfast.load(path)``.

What is saved is the fitted state of :mod:`nnfast.state` (this module reads nothing else
of an estimator, and never imports the estimators module).

Loading never executes code from the file: it is read with ``np.load(allow_pickle=False)``,
the metadata is JSON, and everything is checked before an estimator is built from it.

The format, "nnfast-mlp" version 1
==================================

One uncompressed ``.npz`` file (a zip archive of ``.npy`` members, as written by
``np.savez``) written to exactly the path given (no ``.npz`` is appended). Members:

``__metadata__``
    uint8, the UTF-8 bytes of one JSON object (keys sorted, no NaN/Infinity literals:
    a non-finite float is written ``{"__float__": "inf" | "-inf" | "nan"}``, a tuple
    ``{"__tuple__": [...]}``). Keys:

    - ``format``: ``"nnfast-mlp"``; ``format_version``: 1; ``nnfast_version``: the
      writer's nnfast version (informative);
    - ``estimator``: ``"MLPClassifier"`` or ``"MLPRegressor"``;
    - ``params``: the constructor parameters (``get_params(deep=False)``). Only JSON-
      representable values are kept: ``callbacks`` is never saved (None on load), a
      ``random_state`` that is a RandomState / Generator is saved as None (with a
      warning), ``class_weight`` dicts as ``{"__dict__": [[label, weight], ...]}``;
    - ``dtype``: the parameters' dtype, ``"float32"`` or ``"float64"``;
      ``layer_shapes``: ``[[n_in, n_out], ...]`` per layer;
    - ``fitted``: scalars ``n_features_in_``, ``n_outputs_``, ``n_layers_``,
      ``out_activation_``, ``n_iter_``, ``t_``, ``loss_``, ``best_loss_``,
      ``best_validation_score_``, ``_no_improvement_count`` (absent ones omitted);
    - ``feature_names_in_``: list of str, or null;
    - ``classes``: null (regressor) or ``{"kind": "str"|"int"|"bool"|"float",
      "dtype": numpy dtype string of classes_ ("object" for object arrays),
      "y_type": the label binarizer's y_type_}``;
    - ``lists``: for each of ``loss_curve_``, ``validation_scores_``,
      ``validation_loss_curve_``: true when stored as an array, false when None/absent;
    - ``optimizer``: null, or ``{"type": "sgd"|"adam", "learning_rate": float, "t": int}``
      (t: Adam's step count);
    - ``arrays``: the manifest, ``{name: [dtype string, shape]}`` of every other member.

``__sha256__``
    uint8, 64 ASCII hex digits: SHA-256 over ``b"nnfast-mlp\\0"``, the metadata bytes, and
    then, for every manifest member in sorted name order, ``name \\0 dtype \\0 shape \\0``
    (UTF-8) followed by the array's C-order bytes.

``coefs_<i>``, ``intercepts_<i>``
    the weights and biases of layer i (i = 0 .. n_layers_ - 2), of ``dtype``.
``classes_``
    classifiers: the labels (str labels as a fixed-width unicode array, converted back to
    an object array of str when the original was one).
``loss_curve_``, ``validation_scores_``, ``validation_loss_curve_``
    float64, where ``lists`` says so.
``opt_s1_<j>``, ``opt_s2_<j>``
    the optimizer's state per parameter (W's then b's): SGD velocities (s1 only); Adam's
    first and second moments.

The optimizer state is saved, so ``partial_fit`` on a loaded model continues exactly as
it would have on the saved one (same numbers). Not saved: the early-stopping best-weights
copies (after a fit they equal ``coefs_`` / ``intercepts_``, which is what a loaded model
starts from) and callbacks.

``load`` refuses with a ValueError naming the problem: a file that is not a zip / is
truncated, a member that needs pickle, missing metadata or hash, malformed JSON, another
format, a format version newer than this nnfast reads, a hash mismatch, an unknown
estimator class, missing or unexpected members, and arrays of the wrong dtype or shape.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
import zlib
from numbers import Integral, Real

import numpy as np

from .. import _core, state

__all__ = ["FORMAT", "FORMAT_VERSION", "load", "save"]

FORMAT = "nnfast-mlp"
FORMAT_VERSION = 1
_META, _HASH = "__metadata__", "__sha256__"
# What the file holds is nnfast.state's table: its "curve" rows are the lists, its "scalar"
# rows the "fitted" entries. The file keeps the attribute names it was first written with,
# so a renamed key is mapped here; a new row is a new format version.
_FILE_KEYS = {"no_improvement_count": "_no_improvement_count"}
_LISTS = tuple(f.key for f in state.FIELDS if f.kind == "curve")
_SCALARS = {_FILE_KEYS.get(f.key, f.key): f.key for f in state.FIELDS if f.kind == "scalar"}
_OPT_ARRAYS = {kind: tuple(zip(("s1", "s2"), spec["arrays"]))
               for kind, spec in state.OPTIMIZERS.items()}


# ---------------------------------------------------------------------------
# JSON with tagged non-finite floats and tuples
# ---------------------------------------------------------------------------

def _enc(v, where):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, Integral):
        return int(v)
    if isinstance(v, Real):
        v = float(v)
        if np.isfinite(v):
            return v
        return {"__float__": "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")}
    if isinstance(v, tuple):
        return {"__tuple__": [_enc(x, where) for x in v]}
    if isinstance(v, (list, np.ndarray)):
        return [_enc(x, where) for x in list(v)]
    if isinstance(v, dict):
        return {"__dict__": [[_enc(k, where), _enc(x, where)] for k, x in v.items()]}
    raise TypeError(f"{where}: {type(v).__name__} cannot be saved")


def _dec(v):
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if isinstance(v, dict):
        if set(v) == {"__float__"}:
            return float(v["__float__"])
        if set(v) == {"__tuple__"}:
            return tuple(_dec(x) for x in v["__tuple__"])
        if set(v) == {"__dict__"}:
            return {_dec(k): _dec(x) for k, x in v["__dict__"]}
        return {k: _dec(x) for k, x in v.items()}
    return v


def _dumps(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      ensure_ascii=False).encode("utf-8")


def _digest(meta_bytes, arrays):
    h = hashlib.sha256()
    h.update(FORMAT.encode() + b"\0")
    h.update(meta_bytes)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{list(a.shape)}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------
# saving
# ---------------------------------------------------------------------------

def _classes_info(classes):
    classes = np.asarray(classes)
    if classes.dtype == object:
        kinds = {type(c) for c in classes.tolist()}
        if kinds <= {str}:
            kind, stored = "str", classes.astype(str)
        elif kinds <= {bool}:
            kind, stored = "bool", classes.astype(bool)
        elif kinds <= {int}:
            kind, stored = "int", classes.astype(np.int64)
        elif kinds <= {int, float}:
            kind, stored = "float", classes.astype(np.float64)
        else:
            raise ValueError(f"classes_ of types {sorted(k.__name__ for k in kinds)} cannot be "
                             "saved (labels must be str, int, bool or float)")
        return {"kind": kind, "dtype": "object"}, stored
    kind = {"U": "str", "S": "str", "i": "int", "u": "int", "b": "bool", "f": "float"}.get(
        classes.dtype.kind)
    if kind is None:
        raise ValueError(f"classes_ of dtype {classes.dtype} cannot be saved")
    return {"kind": kind, "dtype": classes.dtype.str}, classes


def _params_json(name, params):
    out = {}
    for key, value in params.items():
        if key == "callbacks":
            continue  # code: never saved
        if key == "random_state" and not (value is None or isinstance(value, Integral)):
            warnings.warn("random_state is a random generator object, which is not saved; "
                          "the loaded model has random_state=None", UserWarning, stacklevel=3)
            continue
        try:
            out[key] = _enc(value, f"parameter {key}")
        except TypeError as exc:
            raise ValueError(f"cannot save {name}: {exc} (only JSON-representable "
                             "parameters can be saved)") from None
    return out


def _build(est):
    """(metadata dict, arrays dict) of a fitted estimator."""
    if state.registered_name(est) is None:
        raise TypeError(f"can only save nnfast's MLPClassifier / MLPRegressor, not "
                        f"{type(est).__name__}")
    fitted_state = state.export(est)
    coefs, intercepts = fitted_state["coefs_"], fitted_state["intercepts_"]
    dtype = np.asarray(coefs[0]).dtype
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    arrays = {}
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        arrays[f"coefs_{i}"] = np.ascontiguousarray(W, dtype=dtype)
        arrays[f"intercepts_{i}"] = np.ascontiguousarray(b, dtype=dtype)
    classes = None
    if state.is_classifier(est):
        classes, arrays["classes_"] = _classes_info(fitted_state["classes_"])
        classes["y_type"] = fitted_state["label_binarizer"]["y_type_"]
    lists = {}
    for name in _LISTS:
        value = fitted_state.get(name)
        lists[name] = value is not None
        if value is not None:
            arrays[name] = np.asarray(value, dtype=np.float64).reshape(-1)
    optimizer = None
    if state.optimizer_fits(fitted_state):
        opt = fitted_state["optimizer"]
        optimizer = {"type": opt["kind"],
                     "learning_rate": _enc(opt["learning_rate"], "learning_rate"),
                     "t": int(opt.get("t", 0))}
        for tag, name in _OPT_ARRAYS[opt["kind"]]:
            for j, s in enumerate(opt[name]):
                arrays[f"opt_{tag}_{j}"] = np.ascontiguousarray(s, dtype=dtype)
    fitted = {}
    for file_key, key in _SCALARS.items():
        if key in fitted_state:
            fitted[file_key] = _enc(fitted_state[key], file_key)
    names = fitted_state.get("feature_names_in_")
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "nnfast_version": _core.config()["version"],
        "estimator": fitted_state["estimator"],
        "params": _params_json(fitted_state["estimator"], fitted_state["params"]),
        "dtype": dtype.name, "layer_shapes": [list(np.shape(W)) for W in coefs],
        "fitted": fitted,
        "feature_names_in_": None if names is None else [str(n) for n in names],
        "classes": classes, "lists": lists, "optimizer": optimizer,
        "arrays": {k: [a.dtype.str, list(a.shape)] for k, a in arrays.items()},
    }
    return meta, arrays


def _write(file, meta, arrays):
    """Write metadata and arrays with their hash (also used by the tests to craft files)."""
    meta_bytes = _dumps(meta)
    members = dict(arrays)
    members[_META] = np.frombuffer(meta_bytes, dtype=np.uint8)
    members[_HASH] = np.frombuffer(_digest(meta_bytes, arrays).encode("ascii"), dtype=np.uint8)
    if hasattr(file, "write"):
        np.savez(file, **members)
        return
    path = os.fspath(file)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **members)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save(est, file):
    """Save the fitted estimator `est` to `file` (a path, written as given, or a binary
    file object) in the "nnfast-mlp" format (see the module docstring)."""
    meta, arrays = _build(est)
    _write(file, meta, arrays)


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------

def _check_member_size(zf, name):
    """Refuse a member whose .npy header claims more data than the member holds, before
    NumPy allocates it (a few bytes could otherwise ask for any amount of memory)."""
    info = zf.getinfo(name + ".npy")
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if claimed > info.file_size:
        raise ValueError(f"not a valid nnfast model file: member {name!r} claims "
                         f"{claimed} bytes but holds {info.file_size} (truncated or forged)")


def _read(file):
    """{name: array} of every member, refusing anything that is not a clean npz."""
    if hasattr(file, "read"):
        start = file.tell()
        magic = file.read(4)
        file.seek(start)
    else:
        with open(file, "rb") as f:
            magic = f.read(4)
    if magic != b"PK\x03\x04":
        raise ValueError("not an nnfast model file: not an npz (zip) archive"
                         + (" (empty or truncated file)" if len(magic) < 4 else ""))
    try:
        with np.load(file, allow_pickle=False) as npz:
            out = {}
            for name in npz.files:
                _check_member_size(npz.zip, name)
                a = npz[name]
                if not isinstance(a, np.ndarray):
                    raise ValueError(f"member {name!r} is not a .npy array")  # noqa: TRY004
                out[name] = a
            return out
    # zipfile answers a damaged header with more than BadZipFile: an unknown compression
    # method (NotImplementedError), a set "encrypted" flag (RuntimeError), ...
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, zlib.error, NotImplementedError,
            RuntimeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a readable nnfast model file (truncated or not a valid npz "
                         f"archive: {type(exc).__name__}: {exc})") from None
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise ValueError("the file holds a member that needs pickle to load; nnfast model "
                             "files never do, refusing it") from None
        raise ValueError(f"not a readable nnfast model file (truncated or not a valid npz "
                         f"archive: {exc})") from None


def _expect(cond, msg):
    if not cond:
        raise ValueError(msg)


def _check_meta(meta):
    _expect(isinstance(meta, dict), "metadata is not a JSON object")
    fmt = meta.get("format")
    _expect(fmt == FORMAT, f"unknown format {fmt!r}: not an nnfast model file "
                           f"(expected format {FORMAT!r})")
    version = meta.get("format_version")
    _expect(isinstance(version, int) and not isinstance(version, bool) and version >= 1,
            f"invalid format version {version!r}")
    _expect(version <= FORMAT_VERSION,
            f"format version {version} is newer than this nnfast reads (format version "
            f"{FORMAT_VERSION}; the file was written by nnfast {meta.get('nnfast_version')}): "
            "upgrade nnfast to load it")


def load(file):
    """Load a model saved by ``save`` (a path or a binary file object); returns a fitted
    nnfast MLPClassifier or MLPRegressor. Raises ValueError for a file that is
    truncated, tampered with, or not one nnfast can read (see the module docstring).

    The estimator classes are found through :mod:`nnfast.state`'s registry, which
    ``nnfast.mlp`` fills when imported; :func:`nnfast.load` imports it first."""
    if not hasattr(file, "read"):
        path = os.fspath(file)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such file: {path!r}")
    members = _read(file)
    _expect(_META in members, "not an nnfast model file: no __metadata__ member")
    raw = members.pop(_META)
    _expect(raw.dtype == np.uint8 and raw.ndim == 1, "malformed __metadata__ member")
    meta_bytes = raw.tobytes()
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"malformed metadata (not UTF-8 JSON: {exc})") from None
    _check_meta(meta)

    _expect(_HASH in members, "no __sha256__ member: cannot verify the file's integrity")
    stored = members.pop(_HASH)
    _expect(stored.dtype == np.uint8 and stored.ndim == 1, "malformed __sha256__ member")
    _expect(stored.tobytes().decode("ascii", "replace") == _digest(meta_bytes, members),
            "SHA-256 mismatch: the file was modified or corrupted after it was saved")
    return _from_meta(meta, members)


def _from_meta(meta, members):
    """The fitted estimator the checked metadata and members describe: every check on the
    file first, then :func:`nnfast.state.restore` builds it."""
    cls = state.estimator_class(meta.get("estimator"))
    name = cls.__name__
    dtype_name = meta.get("dtype")
    _expect(dtype_name in ("float32", "float64"), f"unsupported model dtype {dtype_name!r}")
    dtype = np.dtype(dtype_name)

    # the manifest against the members, and against what the metadata implies
    manifest = meta.get("arrays")
    _expect(isinstance(manifest, dict), "metadata has no array manifest")
    missing = sorted(set(manifest) - set(members))
    extra = sorted(set(members) - set(manifest))
    _expect(not missing, f"missing arrays: {missing}")
    _expect(not extra, f"unexpected extra arrays: {extra}")
    for key, a in members.items():
        want_dtype, want_shape = manifest[key]
        _expect(a.dtype.str == want_dtype and list(a.shape) == list(want_shape),
                f"array {key!r} has dtype {a.dtype.str} and shape {list(a.shape)}; the "
                f"manifest says {want_dtype} and {list(want_shape)}")
    shapes = meta.get("layer_shapes")
    _expect(isinstance(shapes, list) and len(shapes) >= 1, "metadata has no layer shapes")
    expected = set()
    for i, s in enumerate(shapes):
        _expect(isinstance(s, list) and len(s) == 2 and all(isinstance(n, int) and n > 0
                                                            for n in s),
                f"bad layer shape {s!r}")
        _expect(i == 0 or shapes[i - 1][1] == s[0],
                f"layer shapes do not chain: {shapes[i - 1]} then {s}")
        for key, shape in ((f"coefs_{i}", tuple(s)), (f"intercepts_{i}", (s[1],))):
            expected.add(key)
            _expect(key in members, f"missing arrays: [{key!r}]")
            a = members[key]
            _expect(a.dtype == dtype, f"array {key!r} has dtype {a.dtype}; the model's is "
                                      f"{dtype}")
            _expect(a.shape == shape, f"array {key!r} has shape {a.shape}; layer {i} needs "
                                      f"{shape}")
    fitted = _dec(meta.get("fitted") or {})
    _expect(fitted.get("n_features_in_") == shapes[0][0],
            f"n_features_in_={fitted.get('n_features_in_')} does not match the first layer "
            f"{shapes[0]}")
    _expect(fitted.get("n_outputs_") == shapes[-1][1],
            f"n_outputs_={fitted.get('n_outputs_')} does not match the last layer {shapes[-1]}")
    _expect(fitted.get("n_layers_") == len(shapes) + 1,
            f"n_layers_={fitted.get('n_layers_')} does not match {len(shapes)} layers")
    lists = meta.get("lists") or {}
    for key in _LISTS:
        if lists.get(key):
            expected.add(key)
            _expect(key in members and members[key].dtype == np.float64
                    and members[key].ndim == 1, f"array {key!r} missing or not 1-D float64")

    params = _dec(meta.get("params") or {})
    unknown = sorted(set(params) - set(cls().get_params(deep=False)))
    _expect(not unknown, f"unknown parameters for {name}: {unknown}")
    L = len(shapes)
    coefs = [members[f"coefs_{i}"] for i in range(L)]
    intercepts = [members[f"intercepts_{i}"] for i in range(L)]
    # a loaded model starts from its weights: early stopping's best copies equal them
    restored = {"estimator": name, "params": params, "coefs_": coefs,
                "intercepts_": intercepts, "best_coefs": coefs, "best_intercepts": intercepts}
    for key, value in fitted.items():
        _expect(key in _SCALARS, f"unknown fitted attribute {key!r}")
        restored[_SCALARS[key]] = value
    _expect(fitted.get("out_activation_") in ("identity", "logistic", "softmax", "exp"),
            f"unknown out_activation_ {fitted.get('out_activation_')!r}")
    for key in _LISTS:
        restored[key] = members[key].tolist() if lists.get(key) else None
    names = meta.get("feature_names_in_")
    if names is not None:
        _expect(isinstance(names, list) and len(names) == shapes[0][0]
                and all(isinstance(n, str) for n in names),
                "feature_names_in_ must be a list of n_features_in_ strings")
        restored["feature_names_in_"] = names

    classes = meta.get("classes")
    if state.is_classifier(cls):
        _expect(isinstance(classes, dict), "a classifier file needs its classes")
        expected.add("classes_")
        _expect("classes_" in members, "missing arrays: ['classes_']")
        restored["classes_"] = labels = _restore_classes(members["classes_"], classes)
        y_type = classes.get("y_type")
        _expect(y_type in ("binary", "multiclass", "multilabel-indicator"),
                f"unknown label type {y_type!r}")
        restored["label_binarizer"] = {"y_type_": y_type, "sparse_input_": False}
        n_out = 1 if y_type == "binary" else len(labels)
        _expect(n_out == shapes[-1][1], f"{len(labels)} classes ({y_type}) do not "
                                        f"match the output layer {shapes[-1]}")
    else:
        _expect(classes is None, "a regressor file has no classes")

    opt = meta.get("optimizer")
    if opt is not None:
        _expect(isinstance(opt, dict) and opt.get("type") in _OPT_ARRAYS,
                f"unknown optimizer {opt!r}")
        kind = opt["type"]
        restored["optimizer"] = optimizer = {"kind": kind}
        for tag, attr in _OPT_ARRAYS[kind]:
            arrays = []
            for j, p in enumerate(coefs + intercepts):
                key = f"opt_{tag}_{j}"
                expected.add(key)
                _expect(key in members, f"missing arrays: [{key!r}]")
                _expect(members[key].shape == p.shape and members[key].dtype == dtype,
                        f"array {key!r} has dtype {members[key].dtype} and shape "
                        f"{members[key].shape}; its parameter has {dtype} and {p.shape}")
                arrays.append(members[key])
            optimizer[attr] = arrays
        # the types the optimizers themselves give: SGD's rate a float, Adam's a float64
        # NumPy scalar (scikit-learn's arithmetic), and Adam's step count
        rate, t = _dec(opt.get("learning_rate")), opt.get("t", 0)
        _expect(isinstance(rate, (int, float)) and not isinstance(rate, bool),
                f"the optimizer's learning_rate {rate!r} is not a number")
        _expect(isinstance(t, int) and not isinstance(t, bool) and t >= 0,
                f"the optimizer's step count t={t!r} is not a count")
        if kind == "sgd":
            optimizer["learning_rate"] = float(rate)
        else:
            optimizer["learning_rate"] = np.float64(rate)
            optimizer["t"] = t
    extra = sorted(set(members) - expected)
    _expect(not extra, f"unexpected extra arrays: {extra}")
    return state.restore(cls, restored)


def _restore_classes(stored, info):
    kind, dtype = info.get("kind"), info.get("dtype")
    want = {"str": "US", "int": "iu", "bool": "b", "float": "f"}.get(kind)
    _expect(want is not None, f"unknown classes kind {kind!r}")
    _expect(stored.ndim == 1 and stored.dtype.kind in want,
            f"classes_ array of dtype {stored.dtype} does not hold {kind} labels")
    if dtype == "object":
        py = {"str": str, "int": int, "bool": bool, "float": float}[kind]
        out = np.empty(len(stored), dtype=object)
        out[:] = [py(c) for c in stored.tolist()]
        return out
    try:
        target = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"unknown classes dtype {dtype!r}") from None
    _expect(target.kind in want and target.kind != "O", f"classes dtype {dtype!r} does not "
                                                         f"hold {kind} labels")
    return stored.astype(target, copy=False)
