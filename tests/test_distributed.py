"""reduction_chunks and nnfast.distributed without MPI: K ranks simulated as threads of one
process (nnfast.distributed.local.LocalWorld) must give the one-process model bit for bit;
ranks that disagree must all raise the same error before training; a failing rank must not
leave the others waiting. (tests/test_mpi.py runs the same fits under mpiexec.)"""
import hashlib
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from nnfast import MLPClassifier, MLPRegressor, distributed
from nnfast.distributed.local import LocalWorld

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def digest(est):
    """SHA-256 of the parameters and of the loss curve (the stopping rules read it)."""
    h = hashlib.sha256()
    for a in est.coefs_ + est.intercepts_:
        h.update(a.dtype.str.encode())
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(np.asarray(est.loss_curve_ if hasattr(est, "loss_curve_") else [est.loss_],
                        dtype=np.float64).tobytes())
    return h.hexdigest()


def data(n=1003, d=12, classes=3, dtype=np.float64, seed=0):
    # 1003 rows: the last batch of 100 is 3 rows, so most of its 8 chunk slots are empty
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d).astype(dtype)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int) * (classes - 2)
    return X, y


def on_ranks(K, fn):
    """fn(comm) on K simulated ranks; their results."""
    return LocalWorld(K, timeout=60).run(fn)


CASES = {
    "sgd": dict(solver="sgd", momentum=0.0, nesterovs_momentum=False, learning_rate_init=0.05),
    "momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False, alpha=1e-3),
    "nesterov_invscaling": dict(solver="sgd", learning_rate="invscaling", alpha=0.0),
    "adam_alpha": dict(solver="adam", alpha=1e-2),
    "adam_early_stopping": dict(solver="adam", early_stopping=True, n_iter_no_change=2),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", sorted(CASES))
def test_any_process_count_gives_the_one_process_bits(case, dtype):
    X, y = data(dtype=dtype)
    est = MLPClassifier((16, 8), max_iter=4, batch_size=100, random_state=0, n_jobs=1,
                        reduction_chunks=8, **CASES[case])
    one = digest(clone(est).fit(X, y))
    for K in (1, 2, 4, 8):
        got = on_ranks(K, lambda comm: digest(distributed.fit(clone(est), X, y, comm=comm)))
        assert got == [one] * K, (case, K)


def test_sample_weights_with_zero_weight_rows_and_a_zero_weight_batch():
    X, y = data()
    w = np.random.RandomState(1).rand(len(y))
    w[::7] = 0
    w[100:200] = 0  # batch 2 of the unshuffled epoch weighs nothing: skipped by every rank
    est = MLPClassifier((16,), max_iter=3, batch_size=100, shuffle=False, random_state=0,
                        n_jobs=1, reduction_chunks=4)
    one = digest(clone(est).fit(X, y, sample_weight=w))
    got = on_ranks(4, lambda comm: digest(distributed.fit(clone(est), X, y, comm=comm,
                                                          sample_weight=w)))
    assert got == [one] * 4


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_X_and_regressors(fmt):
    X, _ = data(dtype=np.float32)
    X[np.abs(X) < 0.8] = 0
    Y = np.c_[X[:, 0] - X[:, 1], X[:, 2] * 0.5]
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, batch_size=64, random_state=0, n_jobs=1,
                       reduction_chunks=8)
    dense = digest(clone(est).fit(X, Y))
    assert digest(clone(est).fit(Xs, Y)) == dense
    got = on_ranks(2, lambda comm: digest(distributed.fit(clone(est), Xs, Y, comm=comm)))
    assert got == [dense] * 2


def test_partial_fit_calls_match_the_local_calls():
    X, y = data()
    est = MLPClassifier((16,), batch_size=50, random_state=0, n_jobs=1, reduction_chunks=2)
    local = clone(est)
    for part in (slice(0, 500), slice(500, None)):
        local.partial_fit(X[part], y[part], classes=[0, 1, 2])

    def ranks(comm):
        e = clone(est)
        for part in (slice(0, 500), slice(500, None)):
            distributed.partial_fit(e, X[part], y[part], classes=[0, 1, 2], comm=comm)
        return digest(e)
    assert on_ranks(2, ranks) == [digest(local)] * 2


@pytest.mark.parametrize("solver, sparse, S", [("adam", False, 8), ("adam", False, 6),
                                               ("sgd", True, 4), ("lbfgs", False, 6),
                                               ("lbfgs", True, 2)])
def test_chunked_fits_are_the_same_at_any_thread_count(solver, sparse, S):
    """With 2 threads one process shares its chunks between them as virtual ranks (each
    thread a range of whole tree nodes): the bits of one thread."""
    X, y = data(n=4000, d=64, dtype=np.float32)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0))
    fits = [digest(MLPClassifier((256, 128), solver=solver, max_iter=2, batch_size=256,
                                 random_state=0, reduction_chunks=S, n_jobs=n).fit(X, y))
            for n in (1, 2)]
    assert fits[0] == fits[1]


def test_one_chunk_is_the_default_numbers_and_more_chunks_only_round_differently():
    X, y = data()
    fit = lambda S: MLPClassifier((16,), max_iter=3, random_state=0,  # noqa: E731
                                  reduction_chunks=S).fit(X, y)
    base, one, eight = fit(None), fit(1), fit(8)
    assert digest(one) == digest(base)
    for a, b in zip(base.coefs_, eight.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert digest(eight) != digest(base)


def test_the_fitted_estimator_is_the_same_on_every_rank_and_carries_no_communicator():
    X, y = data()
    est = MLPClassifier((8,), max_iter=3, random_state=None, n_jobs=1, reduction_chunks=4,
                        early_stopping=True)

    def ranks(comm):
        e = distributed.fit(clone(est), X, y, comm=comm)
        assert not hasattr(e, "_distributed_session") and e.random_state is None
        return digest(e), e.loss_curve_, e.validation_scores_, e.n_iter_, e.t_
    out = on_ranks(4, ranks)
    assert all(o == out[0] for o in out)


def _errors_on(K, fn):
    """Each rank's ValueError message (None if it raised none)."""
    def rank_main(comm):
        try:
            fn(comm)
        except ValueError as exc:
            return str(exc)
        return None
    return on_ranks(K, rank_main)


@pytest.mark.parametrize("what", ["parameters", "features", "dtype", "classes", "samples"])
def test_ranks_that_disagree_all_raise_the_same_error_before_training(what):
    X, y = data(n=400)
    est = MLPClassifier((8,), max_iter=2, random_state=0, reduction_chunks=4)

    def call(comm):
        r = comm.Get_rank()
        e, Xr, yr = clone(est), X, y
        if r == 1:
            if what == "parameters":
                e.set_params(alpha=0.5)
            elif what == "features":
                Xr = X[:, :-1]
            elif what == "dtype":
                Xr = X.astype(np.float32)
            elif what == "classes":
                yr = np.where(y == 2, 7, y)
            else:
                Xr, yr = X[:-1], y[:-1]
        distributed.fit(e, Xr, yr, comm=comm)
        raise AssertionError("trained although the ranks disagree")
    msgs = _errors_on(2, call)
    assert msgs[0] is not None and msgs[0] == msgs[1]
    assert "disagree" in msgs[0]


@pytest.mark.parametrize("S, K, match", [(None, 2, "reduction_chunks"), (6, 4, "multiple of 4"),
                                         (3, 2, "multiple of 2")])
def test_chunks_that_do_not_suit_the_process_count(S, K, match):
    X, y = data(n=200)
    est = MLPClassifier((4,), max_iter=1, reduction_chunks=S)
    msgs = _errors_on(K, lambda comm: distributed.fit(clone(est), X, y, comm=comm))
    assert all(m is not None and match in m for m in msgs)


@pytest.mark.parametrize("S", [0, -1, 2.5, "8", 2**16 + 1, 10**18])
def test_reduction_chunks_must_be_a_positive_int(S):
    X, y = data(n=50)
    with pytest.raises((ValueError, TypeError), match="reduction_chunks"):
        MLPClassifier((4,), max_iter=1, reduction_chunks=S).fit(X, y)


def test_the_loop_refuses_more_chunks_than_it_could_ever_use():
    """Every chunk slot costs a pass over the parameters a step, empty or not: the loop
    itself refuses S past MAX_REDUCTION_CHUNKS (2^16), whatever batch_size claims."""
    from nnfast import _core

    X, y = data(n=50)
    assert _core.MAX_REDUCTION_CHUNKS == 2**16
    est = MLPClassifier((4,), max_iter=1, batch_size=10**18, reduction_chunks=2**16,
                        random_state=0).fit(X, y)  # the most: 50 rows, 65536 slots
    assert est.n_iter_ == 1
    with pytest.raises(ValueError, match="MAX_REDUCTION_CHUNKS"):
        _core.FitConfig(reduction_chunks=2**16 + 1, batch_size=10**18)  # accepted here,
        _core.run_epochs([], X, np.eye(3)[y], None, [np.zeros((12, 3))], [np.zeros(3)], 3,
                         0.01, 2, _core.FitConfig(reduction_chunks=2**16 + 1,
                                                  batch_size=10**18, max_iter=1),
                         _core.FitState(), None, None, None, None, None, None, False)


def test_more_chunks_than_the_batch_has_rows_is_refused():
    X, y = data(n=50)
    with pytest.raises(ValueError, match="reduction_chunks=64 is larger than batch_size=32"):
        MLPClassifier((4,), max_iter=1, batch_size=32, reduction_chunks=64).fit(X, y)
    with pytest.raises(ValueError, match="larger than batch_size='auto'"):
        MLPClassifier((4,), max_iter=1, reduction_chunks=201).fit(X, y)


@pytest.mark.parametrize("sparse", [False, True])
def test_lbfgs_uses_the_same_chunked_whole_data_gradient_on_every_rank(sparse):
    X, y = data(n=500, d=8)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0))
    est = MLPClassifier((8,), solver="lbfgs", max_iter=25, alpha=1e-3, random_state=0,
                        reduction_chunks=6)
    one = clone(est).fit(X, y)
    for K in (1, 2, 3, 6):
        got = on_ranks(K, lambda comm: digest(distributed.fit(clone(est), X, y, comm=comm)))
        assert got == [digest(one)] * K, K
    plain = clone(est).set_params(reduction_chunks=None).fit(X, y)  # the same fit, rounded apart
    for a, b in zip(plain.coefs_, one.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def test_lbfgs_wants_every_row_on_every_rank_and_no_more_chunks_than_rows():
    X, y = data(n=50)
    msgs = _errors_on(2, lambda comm: distributed.fit(
        MLPClassifier((4,), solver="lbfgs", reduction_chunks=2), X, y, comm=comm,
        data="sharded"))
    assert all("data='global'" in m for m in msgs)
    with pytest.raises(ValueError, match="reduction_chunks=64 is larger than the 50 samples"):
        MLPClassifier((4,), solver="lbfgs", reduction_chunks=64).fit(X, y)


def _raised_on(K, fn):
    """Each rank's exception as (type name, message), None where it returned."""
    def rank_main(comm):
        try:
            fn(comm)
        except Exception as exc:
            return type(exc).__name__, str(exc)
        return None
    t0 = time.monotonic()
    out = on_ranks(K, rank_main)
    assert time.monotonic() - t0 < 20  # ended by the failure, not by LocalWorld's timeout
    return out


def test_a_rank_whose_callback_raises_ends_every_rank_at_that_epoch():
    X, y = data(n=2000)

    def call(comm):
        def cb(est, info):
            if info["epoch"] == 2 and comm.Get_rank() == 1:
                raise KeyError("rank 1 failed")
            return False
        distributed.fit(MLPClassifier((8,), max_iter=50, tol=0, random_state=0,
                                      reduction_chunks=2, callbacks=[cb]), X, y, comm=comm)
    rank0, rank1 = _raised_on(2, call)
    assert rank1 == ("KeyError", "'rank 1 failed'")
    assert rank0 == ("RuntimeError", "rank 1's epoch end raised KeyError: 'rank 1 failed'")


def test_ctrl_c_in_one_rank_stops_every_rank_after_the_same_epoch():
    X, y = data(n=2000)

    def call(comm):
        def cb(est, info):
            if info["epoch"] == 3 and comm.Get_rank() == 1:
                raise KeyboardInterrupt
            return False
        est = distributed.fit(MLPClassifier((8,), max_iter=50, tol=0, random_state=0,
                                            reduction_chunks=2, callbacks=[cb]), X, y, comm=comm)
        return est.n_iter_, digest(est)
    with warnings.catch_warnings(record=True) as caught:  # (the process's, every thread's)
        warnings.simplefilter("always")
        a, b = on_ranks(2, call)
    assert a == b and a[0] == 3
    assert sum("Training interrupted by user" in str(w.message) for w in caught) == 2


@pytest.mark.parametrize("what", ["nan", "empty", "negative weights"])
def test_a_rank_failing_its_own_input_checks_stops_every_rank_before_training(what):
    X, y = data(n=200)
    w = np.ones(len(y))

    def call(comm):
        Xr, yr, wr = X[comm.Get_rank()::2], y[comm.Get_rank()::2], w[comm.Get_rank()::2]
        if comm.Get_rank() == 1:
            if what == "nan":
                Xr = Xr.copy()
                Xr[5, 1] = np.nan
            elif what == "empty":
                Xr, yr, wr = Xr[:0], yr[:0], wr[:0]
            else:
                wr = -wr
        distributed.fit(MLPClassifier((4,), max_iter=2, random_state=0, reduction_chunks=2),
                        Xr, yr, comm=comm, sample_weight=wr, data="sharded")
    (kind0, msg0), (kind1, msg1) = _raised_on(2, call)
    assert kind0 == "ValueError" and msg0.startswith("rank 1 failed before training")
    assert kind1 == "ValueError" and msg1.split("\n")[0] in msg0


@pytest.mark.parametrize("what", ["reduction_chunks", "random_state", "solver",
                                  "optimizer state"])
def test_ranks_that_differ_in_what_they_check_alone_all_raise_the_same_error(what):
    X, y = data(n=200)

    def call(comm):
        est = MLPClassifier((4,), max_iter=2, random_state=0, reduction_chunks=2)
        if what == "optimizer state":
            est.partial_fit(X, y, classes=[0, 1, 2])
        if comm.Get_rank() == 1:
            if what == "reduction_chunks":
                est.set_params(reduction_chunks=3)
            elif what == "random_state":
                est.set_params(random_state=np.random.RandomState(0))
            elif what == "solver":
                est.set_params(solver="lbfgs")
            else:
                est._optimizer.t += 1
        distributed.partial_fit(est, X, y, comm=comm) if what == "optimizer state" else \
            distributed.fit(est, X, y, comm=comm)
    raised = _raised_on(2, call)
    assert raised[0] is not None and raised[0][0] == "ValueError"
    assert raised[0][1].split(": ", 1)[-1] in raised[1][1] or raised[1][1] in raised[0][1]


def test_a_non_nnfast_estimator_is_a_type_error_on_every_rank():
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = data(n=50)
    raised = _raised_on(2, lambda comm: distributed.fit(SkMLP(), X, y, comm=comm))
    assert all(r[0] == "TypeError" and "MLPClassifier or MLPRegressor" in r[1] for r in raised)


def test_a_disagreement_names_the_parameter_that_differs():
    X, y = data(n=50)
    msgs = _errors_on(2, lambda comm: distributed.fit(
        MLPClassifier((4,), alpha=[1e-4, 1e-3][comm.Get_rank()], reduction_chunks=2), X, y,
        comm=comm))
    assert "(rank 0: alpha=0.0001; rank 1: alpha=0.001)" in msgs[0] and msgs[0] == msgs[1]


def test_equal_calls_written_differently_agree():
    X, y = data(n=100)

    def call(comm):
        r = comm.Get_rank()
        est = MLPClassifier((4,) if r == 0 else [4], max_iter=2 if r == 0 else np.int64(2),
                            random_state=0, reduction_chunks=2, n_jobs=1 + r)
        return digest(distributed.fit(est, X, y, comm=comm))
    a, b = on_ranks(2, call)
    assert a == b


@pytest.mark.parametrize("fmt", ["coo", "bsr"])
def test_other_sparse_formats_fit_as_csr(fmt):
    X, y = data(n=300)
    X[np.abs(X) < 1] = 0
    est = MLPClassifier((4,), max_iter=2, random_state=0, n_jobs=1, reduction_chunks=2)
    want = digest(clone(est).fit(sp.csr_matrix(X), y))
    got = on_ranks(2, lambda comm: digest(distributed.fit(
        clone(est), sp.csr_matrix(X).asformat(fmt), y, comm=comm)))
    assert got == [want, want]


def test_a_dataframe_keeps_its_feature_names():
    pd = pytest.importorskip("pandas")  # in the test extra: never skipped in CI
    X, y = data(n=100, d=3)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    names = on_ranks(2, lambda comm: list(distributed.fit(
        MLPClassifier((4,), max_iter=2, random_state=0, reduction_chunks=2), frame, y,
        comm=comm).feature_names_in_))
    assert names == [["a", "b", "c"]] * 2


class TestSharded:
    """data='sharded': each rank passes its own rows."""

    def test_shards_of_unequal_size_give_one_model_on_every_rank_and_the_same_again(self):
        X, y = data()
        cuts = [0, 300, 1003]  # rank 1's shard is longer: rank 0 runs out first
        est = MLPClassifier((16,), max_iter=3, batch_size=100, random_state=0, n_jobs=1,
                            reduction_chunks=4)

        def ranks(comm):
            r = comm.Get_rank()
            part = slice(cuts[r], cuts[r + 1])
            e = distributed.fit(clone(est), X[part], y[part], comm=comm, data="sharded")
            return digest(e), e.t_, e.loss_curve_
        first = on_ranks(2, ranks)
        assert first[0] == first[1] and first[0][1] == 3 * len(y)
        assert on_ranks(2, ranks) == first

    def test_a_full_batch_epoch_is_the_whole_data_gradient(self):
        """With one batch holding every row, the sharded step is the one-process step on
        all rows, up to rounding (the same sum, normalised once)."""
        X, y = data(n=240)
        est = MLPClassifier((8,), solver="sgd", max_iter=1, batch_size=240, shuffle=False,
                            random_state=0, momentum=0, learning_rate_init=0.1, n_jobs=1)
        whole = clone(est).fit(X, y)

        def ranks(comm):
            r = comm.Get_rank()
            part = slice(80 * r, 80 * (r + 1))
            return distributed.fit(clone(est).set_params(reduction_chunks=3), X[part], y[part],
                                   comm=comm, data="sharded")
        for got in on_ranks(3, ranks):
            for a, b in zip(got.coefs_ + got.intercepts_, whole.coefs_ + whole.intercepts_):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
            assert got.loss_ == pytest.approx(whole.loss_, rel=1e-12)

    @pytest.mark.parametrize("column", [False, True], ids=["1-D y", "column-vector y"])
    def test_classes_are_the_union_of_the_shards(self, column):
        X, y = data(n=600)
        order = np.argsort(y, kind="stable")  # rank 0 holds no class 2, rank 1 no class 0
        X, y = X[order], y[order].reshape((-1, 1) if column else -1)

        def ranks(comm):
            part = slice(0, 300) if comm.Get_rank() == 0 else slice(300, None)
            return distributed.fit(MLPClassifier((4,), max_iter=1, random_state=0,
                                                 reduction_chunks=2),
                                   X[part], y[part], comm=comm, data="sharded").classes_
        with warnings.catch_warnings():  # (the process's: every rank's thread)
            warnings.simplefilter("ignore")  # scikit-learn's column-vector y warning
            got = on_ranks(2, ranks)
        for classes in got:
            np.testing.assert_array_equal(classes, [0, 1, 2])

    def test_balanced_class_weights_are_refused_for_shards(self):
        X, y = data(n=200)
        msgs = _errors_on(2, lambda comm: distributed.fit(
            MLPClassifier((4,), reduction_chunks=2, class_weight="balanced"),
            X[comm.Get_rank()::2], y[comm.Get_rank()::2], comm=comm, data="sharded"))
        assert all("class_weight='balanced'" in m for m in msgs)

    def test_early_stopping_needs_a_validation_set(self):
        X, y = data(n=200)
        est = MLPClassifier((4,), max_iter=2, random_state=0, reduction_chunks=2,
                            early_stopping=True)
        msgs = _errors_on(2, lambda comm: distributed.fit(clone(est), X, y, comm=comm,
                                                          data="sharded"))
        assert all("X_val" in m for m in msgs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits = on_ranks(2, lambda comm: digest(distributed.fit(
                clone(est), X[comm.Get_rank()::2], y[comm.Get_rank()::2], comm=comm,
                data="sharded", X_val=X[:50], y_val=y[:50])))
        assert fits[0] == fits[1]


def test_a_communicator_that_is_not_one_is_a_type_error():
    X, y = data(n=20)
    with pytest.raises(TypeError, match="comm must be an mpi4py communicator"):
        distributed.fit(MLPClassifier((4,), reduction_chunks=2), X, y, comm="COMM_WORLD")


def test_fewer_rows_than_chunks_leave_chunk_slots_empty_at_every_process_count():
    X, y = data(n=5)  # every batch is shorter than its 8 chunk slots
    est = MLPClassifier((4,), max_iter=3, random_state=0, n_jobs=1, reduction_chunks=8)
    one = digest(clone(est).fit(X, y))
    assert on_ranks(4, lambda comm: digest(distributed.fit(clone(est), X, y, comm=comm))) \
        == [one] * 4
    # sharded, one rank holding a single row: its batches run out at once
    cut = lambda comm: slice(0, 1) if comm.Get_rank() == 0 else slice(1, None)  # noqa: E731
    got = on_ranks(2, lambda comm: digest(distributed.fit(
        clone(est).set_params(batch_size=8), X[cut(comm)], y[cut(comm)], comm=comm,
        data="sharded")))
    assert got[0] == got[1]
