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
    the weights and biases of layer i (i = 0 .. ``n_layers_`` - 2), of ``dtype``.
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

What ``load`` trusts
====================

Nothing. The SHA-256 guards against corruption (a truncated copy, a flipped bit), not
forgery: it has no key, anyone who edits a file can recompute it. So the loader never
executes code (no pickle; JSON metadata), never inflates anything (stored members only,
see :mod:`nnfast._archive`), never allocates beyond what the file's own size justifies (no
dtype, shape or count is taken from the metadata alone), and checks the whole model before
returning it (here, and in :func:`nnfast.state.restore`). It raises FileNotFoundError for a
missing path, IsADirectoryError for a directory, and ValueError naming the problem for any
other file: not regular, not a clean uncompressed npz, a member that needs pickle, malformed
or unknown metadata, a newer format version, a hash mismatch, members missing, extra or of
the wrong dtype / shape, and a model that no fit could have produced.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from numbers import Integral, Real
from typing import Any, BinaryIO, NoReturn

import numpy as np

from .. import _archive, _core, state

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
# the metadata's keys (see the module docstring); a new key is a new format version
_META_KEYS = ("format", "format_version", "nnfast_version", "estimator", "params", "dtype",
              "layer_shapes", "fitted", "feature_names_in_", "classes", "lists", "optimizer",
              "arrays")
_OPTIMIZERS: dict[str, Any] = state.OPTIMIZERS  # rows of mixed values: Any for the checker
_OPT_ARRAYS = {kind: tuple(zip(("s1", "s2"), spec["arrays"])) for kind, spec in _OPTIMIZERS.items()}


# ---------------------------------------------------------------------------
# JSON with tagged non-finite floats and tuples
# ---------------------------------------------------------------------------

def _enc(v: Any, where: str) -> Any:
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


def _decode_object(pairs: list[tuple[str, Any]]) -> Any:
    """json's object hook: a JSON object, or the value its tag stands for. Refuses
    duplicate keys and malformed tags (ValueError)."""
    obj = dict(pairs)
    _expect(len(obj) == len(pairs), "a JSON object repeats a key")
    if len(obj) != 1:
        return obj
    (tag, value), = obj.items()
    if tag == "__float__":
        _expect(value in ("nan", "inf", "-inf"), f"bad tagged float {_short(value)}")
        return float(value)
    if tag == "__tuple__":
        _expect(isinstance(value, list), "a tagged tuple must hold a list")
        return tuple(value)
    if tag == "__dict__":
        _expect(isinstance(value, list) and all(isinstance(p, list) and len(p) == 2
                                                for p in value),
                "a tagged dict must hold a list of [key, value] pairs")
        try:
            out = dict(value)
        except TypeError:
            raise ValueError("a tagged dict has a key that is not a label") from None
        _expect(len(out) == len(value), "a tagged dict repeats a key")
        return out
    return obj


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON (nnfast writes non-finite numbers as tags)")


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _count_outside_strings(raw: bytes, chars: tuple[bytes, ...], limit: int) -> int:
    """How many of `chars` the JSON text `raw` holds outside its strings: the plain count
    where that is within `limit` (an upper bound), else exactly (one string at a time,
    no copy of the whole)."""
    n = sum(raw.count(c) for c in chars)
    if n > limit:
        for match in _JSON_STRING.finditer(raw):
            text = match.group()
            n -= sum(text.count(c) for c in chars)
    return n


def _loads(raw: bytes, max_containers: int, max_values: int) -> Any:
    """The metadata (UTF-8 JSON bytes) as Python values, tags decoded. A JSON value costs
    tens of bytes of memory for a few bytes of text (an empty list: some 60 for 3), so
    the number of lists and objects and of values is bounded first, by what the file's
    members can justify (see load)."""
    containers = _count_outside_strings(raw, (b"[", b"{"), max_containers)
    values = _count_outside_strings(raw, (b",", b":"), max_values) + 1
    _expect(containers <= max_containers and values <= max_values,
            f"malformed metadata ({containers} JSON lists and objects, {values} values; the "
            f"members of this file justify at most {max_containers} and {max_values})")
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_decode_object,
                          parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("malformed metadata (JSON nested too deeply)") from None
    except ValueError as exc:  # also UnicodeDecodeError, json.JSONDecodeError
        raise ValueError(f"malformed metadata (not UTF-8 JSON: {exc})") from None


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      ensure_ascii=False).encode("utf-8")


def _digest(meta_bytes: bytes, arrays: dict[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(FORMAT.encode() + b"\0")
    h.update(meta_bytes)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{list(a.shape)}\0".encode())
        h.update(a.reshape(-1).view(np.uint8))  # type: ignore[arg-type]  # tobytes()'s bytes, no copy
    return h.hexdigest()


# ---------------------------------------------------------------------------
# saving
# ---------------------------------------------------------------------------

def _classes_info(classes: Any) -> tuple[dict[str, Any], np.ndarray]:
    classes = np.asarray(classes)
    if classes.dtype == object:
        kinds = {type(c) for c in classes.tolist()}
        if kinds <= {str}:
            kind, stored = "str", classes.astype(str)
        elif kinds <= {bool}:
            kind, stored = "bool", classes.astype(bool)
        elif kinds <= {int}:
            _expect(all(-2**63 <= c < 2**63 for c in classes.tolist()),
                    "int labels beyond int64 cannot be saved")
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


def _params_json(name: str, params: dict[str, Any]) -> dict[str, Any]:
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


def _build(est: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
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


def _write(file: str | os.PathLike[str] | BinaryIO, meta: Any, arrays: dict[str, Any]) -> None:
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


def save(est: Any, file: str | os.PathLike[str] | BinaryIO) -> None:
    """Save the fitted estimator `est` to `file` (a path, written as given, or a binary
    file object) in the "nnfast-mlp" format (see the module docstring)."""
    meta, arrays = _build(est)
    _write(file, meta, arrays)


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------

def _expect(cond: object, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


def _short(value: object) -> str:
    """repr of a value from the file, cut short (a forged value may be huge)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_meta(meta: Any) -> None:
    _expect(isinstance(meta, dict), "metadata is not a JSON object")
    fmt = meta.get("format")
    _expect(fmt == FORMAT, f"unknown format {_short(fmt)}: not an nnfast model file "
                           f"(expected format {FORMAT!r})")
    version = meta.get("format_version")
    _expect(_is_int(version) and version >= 1, f"invalid format version {_short(version)}")
    _expect(version <= FORMAT_VERSION,
            f"format version {version} is newer than this nnfast reads (format version "
            f"{FORMAT_VERSION}; the file was written by nnfast "
            f"{_short(meta.get('nnfast_version'))}): upgrade nnfast to load it")
    unknown = sorted(set(meta) - set(_META_KEYS))
    _expect(not unknown, f"unknown metadata keys {_short(unknown)}")
    writer = meta.get("nnfast_version")
    _expect(isinstance(writer, str) and len(writer) <= 64,
            f"invalid nnfast_version {_short(writer)}")


def _header(members: dict[str, Any], key: str) -> _archive.NpyHeader:
    """The checked .npy header of member `key` (parsed once; members maps a name to its
    bytes, then to (header, bytes))."""
    entry = members[key]
    if not isinstance(entry, tuple):
        members[key] = entry = (_archive.npy_header(entry, key), entry)
    return entry[0]


def _small_member(members: dict[str, Any], name: str, missing: str) -> bytes:
    """The bytes of the 1-D uint8 member `name` (metadata, hash), removed from `members`."""
    _expect(name in members, missing)
    header = _header(members, name)
    body = members.pop(name)[1]
    _expect(header.dtype == np.uint8 and len(header.shape) == 1, f"malformed {name} member")
    return bytes(body[header.offset:])


def _rows(members: dict[str, Any], key: str) -> int:
    if key not in members:
        return 0
    shape = _header(members, key).shape
    return shape[0] if len(shape) in (1, 2) else 0


def _arrays(manifest: Any, members: dict[str, Any]) -> dict[str, np.ndarray]:
    """{name: read-only array} of the members, each header parsed and checked against its
    manifest entry only once the names agree (so that no array is made from a header the
    manifest does not confirm, and a file of many junk members stops at their names)."""
    _expect(isinstance(manifest, dict), "metadata has no array manifest")
    missing = sorted(set(manifest) - set(members))
    extra = sorted(set(members) - set(manifest))
    _expect(not missing, f"missing arrays: {_short(missing)}")
    _expect(not extra, f"unexpected extra arrays: {_short(extra)}")
    out = {}
    for key in members:
        header, body = _header(members, key), members[key][1]
        entry = manifest[key]
        _expect(isinstance(entry, list) and len(entry) == 2,
                f"the manifest entry of {key!r} is not [dtype, shape]")
        want_dtype, want_shape = entry
        _expect(header.dtype.str == want_dtype and list(header.shape) == want_shape,
                f"array {key!r} has dtype {header.dtype.str} and shape {list(header.shape)}; "
                f"the manifest says {_short(want_dtype)} and {_short(want_shape)}")
        out[key] = _archive.npy_array(body, header)
    return out


def load(file: str | os.PathLike[str] | BinaryIO) -> Any:
    """Load a model saved by ``save`` (a path or a seekable binary file object); returns a
    fitted nnfast MLPClassifier or MLPRegressor. Raises ValueError for a file that is
    truncated, tampered with, or not one nnfast can read (see the module docstring).

    The estimator classes are found through :mod:`nnfast.state`'s registry, which
    ``nnfast.mlp`` fills when imported; :func:`nnfast.load` imports it first."""
    members = dict(_archive.members(_archive.read_bytes(file)))
    meta_bytes = _small_member(members, _META, "not an nnfast model file: no __metadata__ "
                                               "member")
    # What the metadata may hold: a fixed set of keys; per member a manifest entry (2 lists,
    # 4 values), per layer (at most one per 2 members) a shape (a list, 2 values); per class
    # a class weight (a list, 2 values); per feature (coefs_0's rows) a name. The bounds
    # leave a margin over that, so only a file whose members justify them reaches json.
    n_members, n_classes = len(members), _rows(members, "classes_")
    meta = _loads(meta_bytes, 1024 + 3 * n_members + 2 * n_classes,
                  4096 + 8 * n_members + 4 * n_classes + 2 * _rows(members, "coefs_0"))
    _check_meta(meta)
    stored = _small_member(members, _HASH, "no __sha256__ member: cannot verify the file's "
                                           "integrity")
    arrays = _arrays(meta.get("arrays"), members)
    _expect(stored == _digest(meta_bytes, arrays).encode("ascii"),
            "SHA-256 mismatch: the file was modified or corrupted after it was saved")
    return _from_meta(meta, arrays)


def _object(meta: Any, key: str, what: str) -> Any:
    value = meta.get(key)
    _expect(isinstance(value, dict), f"metadata {key!r} must be an object ({what})")
    return value


def _from_meta(meta: Any, members: dict[str, np.ndarray]) -> Any:
    """The fitted estimator the checked metadata and members describe: every check on the
    file's structure here, then :func:`nnfast.state.restore` checks the model and builds it."""
    cls = state.estimator_class(meta.get("estimator"))
    dtype_name = meta.get("dtype")
    _expect(dtype_name in ("float32", "float64"), f"unsupported model dtype {_short(dtype_name)}")
    dtype = np.dtype(dtype_name)

    shapes = meta.get("layer_shapes")
    _expect(isinstance(shapes, list) and len(shapes) >= 1, "metadata has no layer shapes")
    expected = set()
    for i, s in enumerate(shapes):
        _expect(isinstance(s, list) and len(s) == 2 and all(_is_int(n) and n > 0 for n in s),
                f"bad layer shape {_short(s)}")
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
    fitted = _object(meta, "fitted", "the fitted scalars")
    _expect(fitted.get("n_features_in_") == shapes[0][0],
            f"n_features_in_={_short(fitted.get('n_features_in_'))} does not match the first "
            f"layer {shapes[0]}")
    _expect(fitted.get("n_outputs_") == shapes[-1][1],
            f"n_outputs_={_short(fitted.get('n_outputs_'))} does not match the last layer "
            f"{shapes[-1]}")
    _expect(fitted.get("n_layers_") == len(shapes) + 1,
            f"n_layers_={_short(fitted.get('n_layers_'))} does not match {len(shapes)} layers")
    lists = _object(meta, "lists", "which curves are stored")
    _expect(set(lists) <= set(_LISTS) and all(isinstance(v, bool) for v in lists.values()),
            f"metadata 'lists' must map {list(_LISTS)} to true / false")
    for key in _LISTS:
        if lists.get(key):
            expected.add(key)
            _expect(key in members and members[key].dtype == np.float64
                    and members[key].ndim == 1, f"array {key!r} missing or not 1-D float64")

    params = _object(meta, "params", "the constructor parameters")
    _expect("callbacks" not in params, "callbacks are code and never saved; this file has them")
    L = len(shapes)
    coefs = [members[f"coefs_{i}"] for i in range(L)]
    intercepts = [members[f"intercepts_{i}"] for i in range(L)]
    # a loaded model starts from its weights: early stopping's best copies equal them
    restored = {"estimator": cls.__name__, "params": params, "coefs_": coefs,
                "intercepts_": intercepts, "best_coefs": coefs, "best_intercepts": intercepts}
    for key, value in fitted.items():
        _expect(key in _SCALARS, f"unknown fitted attribute {_short(key)}")
        restored[_SCALARS[key]] = value
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
        restored["classes_"] = _restore_classes(members["classes_"], classes)
        restored["label_binarizer"] = {"y_type_": classes.get("y_type"),
                                       "sparse_input_": False}
    else:
        _expect(classes is None, "a regressor file has no classes")

    opt = meta.get("optimizer")
    if opt is not None:
        _expect(isinstance(opt, dict) and isinstance(opt.get("type"), str)
                and opt["type"] in _OPT_ARRAYS,
                f"unknown optimizer {_short(opt)}")
        restored["optimizer"] = _restore_optimizer(opt, members, coefs + intercepts, dtype,
                                                   expected)
    extra = sorted(set(members) - expected)
    _expect(not extra, f"unexpected extra arrays: {_short(extra)}")
    return state.restore(cls, restored)


def _restore_optimizer(opt: Any, members: dict[str, np.ndarray], params: list[np.ndarray],
                       dtype: np.dtype[Any], expected: set[str]) -> dict[str, Any]:
    kind = opt["type"]
    optimizer = {"kind": kind}
    for tag, attr in _OPT_ARRAYS[kind]:
        arrays = []
        for j, p in enumerate(params):
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
    rate, t = opt.get("learning_rate"), opt.get("t", 0)
    _expect(isinstance(rate, (int, float)) and not isinstance(rate, bool),
            f"the optimizer's learning_rate {_short(rate)} is not a number")
    _expect(_is_int(t) and t >= 0, f"the optimizer's step count t={_short(t)} is not a count")
    if kind == "sgd":
        optimizer["learning_rate"] = float(rate)
    else:
        optimizer["learning_rate"] = np.float64(rate)
        optimizer["t"] = t
    return optimizer


_CLASS_KINDS = {"str": ("U", str), "int": ("iu", int), "bool": ("b", bool),
                "float": ("f", float)}


def _restore_classes(stored: np.ndarray, info: Any) -> np.ndarray:
    """classes_ from the stored array and the metadata's {kind, dtype}: the stored dtype
    itself (the metadata names no dtype of its own: a wider one would allocate what the
    file does not hold, a narrower one would wrap the labels), or an object array of
    Python labels where the original was one."""
    kind, dtype = info.get("kind"), info.get("dtype")
    _expect(isinstance(kind, str) and kind in _CLASS_KINDS, f"unknown classes kind "
                                                             f"{_short(kind)}")
    kinds, py = _CLASS_KINDS[kind]
    kinds += "S" if kind == "str" and dtype != "object" else ""
    _expect(stored.ndim == 1 and stored.dtype.kind in kinds,
            f"classes_ array of dtype {stored.dtype} does not hold {kind} labels")
    if dtype == "object":
        out = np.empty(len(stored), dtype=object)
        out[:] = [py(c) for c in stored.tolist()]
        return out
    _expect(dtype == stored.dtype.str, f"classes dtype {_short(dtype)} is not the stored "
                                       f"array's {stored.dtype.str}")
    return stored
