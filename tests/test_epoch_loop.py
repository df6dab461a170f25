"""The C++ epoch loop (csrc/nn/epochs.h through nnfast._epochs) against its Python oracle
(tests/oracle_loop.py): dense and CSR input, zero-weight batches, every solver and
schedule, early stopping, float32 and float64; CSR against dense bit for bit; and the
binding's answers to hostile arguments.

Both loops take each batch's gradient from the same kernel, so they agree bit for bit
wherever their update arithmetic is the same: every float64 run and float32 SGD. Adam on
float32 forms its step in float64 in the oracle (scikit-learn's η_t is a float64 scalar)
and in float32 in C++: those runs agree to the float32 tolerance.
"""
import numpy as np
import pytest

import nnfast.reference as ref
from nnfast import _checks, _codes, _core, _epochs

sp = pytest.importorskip("scipy.sparse")
pytest.importorskip("sklearn")
import oracle_loop  # noqa: E402

RTOL_F32 = 1e-5

SOLVERS = {
    "sgd": dict(solver="sgd", momentum=0.0, nesterovs_momentum=False, learning_rate_init=0.1),
    "momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False,
                     learning_rate_init=0.05),
    "nesterov": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True,
                     learning_rate_init=0.05),
    "invscaling": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.3,
                       power_t=0.4),
    "adaptive": dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.1, tol=0.05,
                     n_iter_no_change=1, max_iter=20),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}


def _config(**params):
    p = dict(alpha=1e-3, batch_size=16, max_iter=6, tol=1e-4, n_iter_no_change=10)
    p.update(params)
    p["solver"] = _codes.SOLVERS[p["solver"]]
    if "learning_rate" in p:
        p["learning_rate"] = _codes.SCHEDULES[p["learning_rate"]]
    return _core.FitConfig(**p)


def _problem(dtype, m=90, d=7, k=3, seed=0, zero_weights=False, density=0.4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, d))
    X[rng.random((m, d)) > density] = 0.0
    Y = np.eye(k)[rng.integers(0, k, m)]
    w = None
    if zero_weights:
        w = rng.uniform(0.5, 2.0, m)
        w[:32] = 0.0          # whole batches of zero weight (batch_size 16, no shuffle)
        w[50:70:3] = 0.0      # and scattered zero-weight rows
    def cast(a):
        return None if a is None else np.ascontiguousarray(a, dtype=dtype)

    return cast(X), cast(Y), cast(w)


def _both(X, Y, w, config, dtype, *, shuffle=True, sizes=(7, 6, 3), early_stopping=False,
          X_oracle=None):
    """Run the C++ loop and the oracle from the same start; return both results."""
    Ws, bs = ref.init_params(list(sizes), "tanh", random_state=1, dtype=dtype)
    act, head = _codes.ACTIVATIONS["tanh"], _codes.HEADS["softmax"]
    runs = []
    for which in ("core", "oracle"):
        W, b = [a.copy() for a in Ws], [a.copy() for a in bs]
        state = _core.FitState(learning_rate=config.learning_rate_init)
        best = [np.zeros_like(p) for p in W + b] if early_stopping else None
        # made-up validation scores that rise, then fall: the rule stops the fit
        scores = np.linspace(0.2, 0.9, config.max_iter)[::-1] ** 2 % 0.37

        def epoch_end(epoch, loss, scores=scores):
            return True, float(scores[epoch - 1]) if early_stopping else None

        rng = np.random.RandomState(5) if shuffle else None
        if which == "core":
            opt = _epochs.solver_state(config, W, b)
            status, curve = _epochs.run_epochs(
                X, Y, w, W, b, config, state, act=act, head=head, opt_state=opt, best=best,
                random_state=rng, epoch_end=epoch_end)
        else:
            status, curve, o = oracle_loop.stochastic_fit(
                X if X_oracle is None else X_oracle, Y, w, W, b, config, state, act=act,
                head=head, rng=rng, best=best, epoch_end=epoch_end)
            opt = o.state_arrays()
        runs.append(dict(params=W + b, state=state, status=status, curve=curve, best=best,
                         opt=[a for arrays in opt if arrays is not None for a in arrays],
                         rng=None if rng is None else rng.randint(2 ** 31)))
    return runs


def _assert_same(core, oracle, bitwise, rtol=RTOL_F32):
    check = (np.testing.assert_array_equal if bitwise else
             lambda a, b: np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol))
    assert core["status"] == oracle["status"]
    assert core["state"].n_iter == oracle["state"].n_iter == len(core["curve"])
    assert core["state"].t == oracle["state"].t
    assert core["state"].adam_t == oracle["state"].adam_t
    assert core["state"].no_improvement_count == oracle["state"].no_improvement_count
    assert core["rng"] == oracle["rng"], "the random streams differ"
    check(np.array(core["curve"]), np.array(oracle["curve"]))
    assert core["state"].learning_rate == pytest.approx(oracle["state"].learning_rate,
                                                        rel=1e-15)
    for a, b in zip(core["params"] + core["opt"], oracle["params"] + oracle["opt"]):
        assert a.dtype == b.dtype
        check(a, b)
    if core["best"] is not None:
        for a, b in zip(core["best"], oracle["best"]):
            check(a, b)


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("zero_weights", [False, True], ids=["unweighted", "zero-weights"])
def test_loop_matches_oracle(solver, sparse, zero_weights, dtype):
    X, Y, w = _problem(dtype, zero_weights=zero_weights)
    config = _config(**SOLVERS[solver])
    Xin = sp.csr_matrix(X) if sparse else X
    core, oracle = _both(Xin, Y, w, config, dtype, shuffle=not zero_weights)
    adam_f32 = solver == "adam" and dtype == np.float32
    _assert_same(core, oracle, bitwise=not adam_f32)
    if solver == "adaptive":
        assert core["state"].learning_rate < config.learning_rate_init  # the rule fired


@pytest.mark.parametrize("solver", ["nesterov", "adam"])
def test_early_stopping_matches_oracle(solver, dtype):
    X, Y, w = _problem(dtype, zero_weights=True)
    config = _config(**SOLVERS[solver], early_stopping=True, n_iter_no_change=2, tol=0.01,
                     max_iter=12)
    core, oracle = _both(sp.csr_matrix(X), Y, w, config, dtype, early_stopping=True)
    _assert_same(core, oracle, bitwise=not (solver == "adam" and dtype == np.float32))
    assert core["status"] == _core.FitStatus.converged


def test_loss_scale_and_incremental_match_oracle():
    X, Y, _ = _problem(np.float64)
    config = _config(**SOLVERS["adam"], loss_scale=1 / 3, incremental=True)
    core, oracle = _both(X, Y, None, config, np.float64)
    assert core["status"] == _core.FitStatus.incremental
    # the loss is scaled after the kernel's J in the oracle, inside it in C++: rounding apart
    np.testing.assert_allclose(core["curve"], oracle["curve"], rtol=1e-14)
    for a, b in zip(core["params"], oracle["params"]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("solver", ["nesterov", "adam"])
def test_csr_equals_dense_bit_for_bit(index_dtype, solver, dtype):
    """scipy's own arrays, densified per batch in C++, give the dense fit's bits: with
    shuffling, zero-weight batches, non-canonical CSR (duplicate entries, which add up,
    and explicit zeros) and either index type."""
    X, Y, w = _problem(dtype, zero_weights=True)
    # row by row: X[3]'s first value stored as two halves (exact in binary), and a stored
    # zero in row 5, in a column where X is 0
    data, indices, indptr = [], [], [0]
    for r, row in enumerate(X):
        cols = list(np.flatnonzero(row))
        vals = [row[c] for c in cols]
        if r == 3:
            cols, vals = [cols[0]] + cols, [vals[0] / 2, vals[0] / 2] + vals[1:]
        if r == 5:
            cols, vals = cols + [int(np.flatnonzero(row == 0)[0])], vals + [0.0]
        data += vals
        indices += cols
        indptr.append(len(data))
    Xs = sp.csr_matrix((np.array(data, dtype=dtype), np.array(indices), np.array(indptr)),
                       shape=X.shape)
    # set after construction: scipy would narrow int64 indices that fit in int32
    Xs.indices, Xs.indptr = Xs.indices.astype(index_dtype), Xs.indptr.astype(index_dtype)
    assert Xs.indices.dtype == index_dtype and Xs.nnz == np.count_nonzero(X) + 2
    np.testing.assert_array_equal(Xs.toarray(), X)
    config = _config(**SOLVERS[solver])
    results = []
    for Xin in (X, Xs):
        Ws, bs = ref.init_params([7, 6, 3], "relu", random_state=2, dtype=dtype)
        state = _core.FitState(learning_rate=config.learning_rate_init)
        status, curve = _epochs.run_epochs(
            Xin, Y, w, Ws, bs, config, state, act=_codes.ACTIVATIONS["relu"],
            head=_codes.HEADS["softmax"], opt_state=_epochs.solver_state(config, Ws, bs),
            random_state=np.random.RandomState(0))
        results.append((Ws + bs, curve, state.adam_t))
    (p_dense, c_dense, t_dense), (p_csr, c_csr, t_csr) = results
    assert c_dense == c_csr and t_dense == t_csr
    for a, b in zip(p_dense, p_csr):
        np.testing.assert_array_equal(a, b)


def test_enum_names_are_the_pure_python_tables():
    """The reference checks names without the extension; its tuples are the enums' names."""
    assert tuple(_core.Activation.__members__) == _checks.HIDDEN_ACTIVATIONS
    assert tuple(_core.Head.__members__) == _checks.OUTPUT_ACTIVATIONS
    assert set(_core.Solver.__members__) == {"sgd", "adam"}
    assert set(_core.Schedule.__members__) == {"constant", "invscaling", "adaptive"}


def test_config_and_state_take_only_their_fields():
    c = _core.FitConfig(batch_size=7, learning_rate=_core.Schedule.adaptive)
    assert c.batch_size == 7 and c.learning_rate == _core.Schedule.adaptive
    assert c.solver == _core.Solver.adam and c.beta_2 == 0.999  # scikit-learn's defaults
    with pytest.raises(TypeError, match="unexpected keyword argument 'batchsize'"):
        _core.FitConfig(batchsize=7)
    with pytest.raises(TypeError):
        _core.FitConfig(solver=1)  # a code, not the enum
    with pytest.raises(TypeError):
        c.max_iter = 2.5
    s = _core.FitState(t=3)
    assert s.t == 3 and np.isnan(s.loss) and s.best_loss == np.inf
    assert "no_improvement_count=0" in repr(s)


# ---------------------------------------------------------------------------
# hostile arguments to the binding: ValueError / TypeError naming them, never a crash
# ---------------------------------------------------------------------------

def _call(X=None, Y=None, w=None, config=None, state=None, rng=None, order=None,
          epoch_end=None, **kw):
    rs = np.random.default_rng(0)
    Xd = rs.standard_normal((10, 4))
    Ws, bs = ref.init_params([4, 3, 2], "relu", random_state=0)
    config = config or _core.FitConfig(solver=_core.Solver.sgd, momentum=0.0,
                                       nesterovs_momentum=False, batch_size=4, max_iter=2)
    return _core.run_epochs([], Xd if X is None else X,
                            np.eye(2)[rs.integers(0, 2, 10)] if Y is None else Y, w, Ws, bs,
                            _codes.ACTIVATIONS["relu"], 0.01, _codes.HEADS["softmax"], config,
                            state or _core.FitState(), kw.get("s1"), None, None, order, rng,
                            epoch_end, False)


def _csr(data=None, indices=None, indptr=None, n=4):
    X = sp.csr_matrix(np.random.default_rng(1).standard_normal((10, 4)) * (np.arange(4) > 1))
    return (X.data if data is None else data, X.indices if indices is None else indices,
            X.indptr if indptr is None else indptr, n)


def test_the_reference_call_runs():
    assert _call() == _core.FitStatus.max_iter
    assert _call(X=_csr()) == _core.FitStatus.max_iter


@pytest.mark.parametrize("X,match", [
    (np.zeros((10, 5)), "X must have shape"),
    (np.zeros((9, 4)), "X must have shape"),
    (_csr(indptr=np.array([0, 1, 0, 2, 2, 2, 2, 2, 2, 2, 2], dtype=np.int32)), "non-decreasing"),
    (_csr(indptr=np.arange(11, dtype=np.int32) * 100), "past the end"),
    (_csr(indptr=np.arange(10, dtype=np.int32)), "one entry per row"),
    (_csr(indptr=np.array([-1] + [0] * 10, dtype=np.int32)), r"indptr\[0\]"),
    (_csr(indices=np.full(20, 4, dtype=np.int32)), "outside"),
    (_csr(indices=np.full(20, -1, dtype=np.int32)), "outside"),
    (_csr(n=5), "n_features"),
])
def test_bad_inputs_raise_value_error(X, match):
    with pytest.raises(ValueError, match=match):
        _call(X=X)


@pytest.mark.parametrize("X", [
    np.zeros((10, 4), dtype=np.float32),               # not Y's dtype
    np.zeros((4, 10)).T,                               # not C-contiguous
    _csr(indices=_csr()[1].astype(np.int64)),          # index types differ
    _csr(indices=_csr()[1].astype(np.float64)),        # not integers
    _csr(data=_csr()[0].astype(np.float32)),           # data not Y's dtype
    _csr()[:3],                                        # not a CSR tuple
    "X",
], ids=["dtype", "layout", "mixed-index", "float-index", "data-dtype", "short-tuple", "str"])
def test_bad_input_types_raise_type_error(X):
    with pytest.raises(TypeError):
        _call(X=X)


@pytest.mark.parametrize("field,value,match", [
    ("solver", _core.Solver(7), "config.solver"),
    ("learning_rate", _core.Schedule(-1), "config.learning_rate"),
    ("batch_size", 0, "config.batch_size"),
    ("max_iter", 0, "config.max_iter"),
    ("learning_rate_init", float("nan"), "config.learning_rate_init"),
    ("momentum", 1.5, "config.momentum"),
    ("beta_2", 1.0, "config.beta_2"),
    ("tol", float("nan"), "config.tol"),
    ("alpha", -1.0, "config.alpha"),
    ("loss_scale", 0.0, "config.loss_scale"),
])
def test_bad_config_raises_value_error(field, value, match):
    config = _core.FitConfig(solver=_core.Solver.sgd, momentum=0.0, nesterovs_momentum=False,
                             batch_size=4, max_iter=2)
    setattr(config, field, value)
    with pytest.raises(ValueError, match=match):
        _call(config=config)


def test_bad_state_rng_order_and_solver_arrays_raise_value_error():
    with pytest.raises(ValueError, match="state.adam_t"):
        _call(state=_core.FitState(t=-1))
    with pytest.raises(ValueError, match="state.learning_rate"):
        _call(state=_core.FitState(learning_rate=float("inf")))
    with pytest.raises(ValueError, match="rng"):
        _call(rng=np.zeros(624, dtype=np.uint32))
    with pytest.raises(ValueError, match="position"):
        _call(rng=np.full(625, 1000, dtype=np.uint32))
    frozen = np.zeros(625, dtype=np.uint32)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        _call(rng=frozen)
    with pytest.raises(ValueError, match="order"):
        _call(order=np.full((2, 10), 10, dtype=np.int64))
    with pytest.raises(ValueError, match="state arrays"):
        _call(config=_core.FitConfig(batch_size=4, max_iter=2))  # Adam without its moments
    with pytest.raises(ValueError, match="sample_weight"):
        _call(w=np.full(10, -1.0))


@pytest.mark.parametrize("returned", [True, (True, "0.5"), (True, 0.5, 1), ("yes", None)])
def test_epoch_end_must_return_continue_and_a_score(returned):
    with pytest.raises(TypeError, match="epoch_end"):
        _call(epoch_end=lambda epoch, loss: returned)
