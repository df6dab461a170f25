"""Nothing moves: SHA-256 digests of the trained parameters for a fixed set of fits.

Refactoring the training path (the Python side, the bridge to the C++ loop, the loop
itself) must not change a single bit of any model. Each case below fits an estimator and
hashes its ``coefs_`` and ``intercepts_`` (dtype, shape and bytes); the digests were
recorded by the build before the refactoring, once per GEMM ISA (the ISA of the products
and element-wise loops changes the rounding, so each has its own table). Results do not
depend on the thread count (the determinism contract), so one table serves n_jobs=1 and 2.

Regenerate only when a change is *meant* to change the numbers, and say so in the commit:
``NNFAST_GEMM_ISA=<isa> python tests/test_digests.py`` prints that ISA's table.
"""
import hashlib
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
import scipy.sparse as sp  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import nnfast  # noqa: E402


def _data():
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16.0
    y = y[:300]
    rng = np.random.RandomState(7)
    w = rng.uniform(0.5, 2.0, X.shape[0])
    w[:40] = 0.0          # a whole first batch of zero weight (batch_size 20, shuffle=False)
    w[100:130:3] = 0.0    # and scattered zero-weight rows
    Yr = np.column_stack([X[:, :5].sum(1), X[:, 10] - X[:, 20]])
    return X, y, w, Yr


def _fit(name):
    """Fit case `name`; return the fitted estimator."""
    X, y, w, Yr = _data()
    C, R = nnfast.MLPClassifier, nnfast.MLPRegressor
    f32 = X.astype(np.float32)
    common = dict(hidden_layer_sizes=(16,), random_state=0, max_iter=6)
    if name == "adam_f64":
        return C(**common).fit(X, y)
    if name == "adam_f32":
        return C(**common).fit(f32, y)
    if name == "sgd_nesterov_f32":
        return C(solver="sgd", **common).fit(f32, y)
    if name == "sgd_momentum_invscaling":
        return C(solver="sgd", nesterovs_momentum=False, learning_rate="invscaling",
                 learning_rate_init=0.1, **common).fit(X, y)
    if name == "sgd_plain_adaptive_tanh":
        return C(solver="sgd", momentum=0.0, learning_rate="adaptive", activation="tanh",
                 tol=1e-1, n_iter_no_change=1, hidden_layer_sizes=(12, 8), random_state=1,
                 max_iter=12).fit(X, y)
    if name == "lbfgs_f64":
        return C(solver="lbfgs", **dict(common, max_iter=15)).fit(X, y)
    if name == "lbfgs_f32_logistic":
        return C(solver="lbfgs", activation="logistic", **dict(common, max_iter=15)).fit(f32, y)
    if name == "early_stopping_f64":
        return C(early_stopping=True, n_iter_no_change=3, **dict(common, max_iter=20)).fit(X, y)
    if name == "early_stopping_sgd_f32":
        return C(solver="sgd", early_stopping=True, **common).fit(f32, y)
    if name == "csr_adam":
        return C(**common).fit(sp.csr_matrix(X), y)
    if name == "csr_sgd_f32_shuffle_off":
        return C(solver="sgd", shuffle=False, **common).fit(sp.csr_matrix(f32), y)
    if name == "csc_lbfgs":
        return C(solver="lbfgs", **dict(common, max_iter=10)).fit(sp.csc_matrix(X), y)
    if name == "zero_weights_adam":
        return C(batch_size=20, **common).fit(X, y, sample_weight=w)
    if name == "zero_weights_sgd_no_shuffle_f32":
        return C(solver="sgd", batch_size=20, shuffle=False, **common).fit(f32, y,
                                                                           sample_weight=w)
    if name == "zero_weights_csr_early_stopping":
        return C(batch_size=20, early_stopping=True, **common).fit(sp.csr_matrix(X), y,
                                                                   sample_weight=w)
    if name == "weights_lbfgs":
        return C(solver="lbfgs", **dict(common, max_iter=10)).fit(X, y, sample_weight=w)
    if name == "partial_fit":
        est = C(solver="sgd", hidden_layer_sizes=(16,), random_state=0)
        classes = np.unique(y)
        for i in range(3):
            est.partial_fit(X[i * 100:(i + 1) * 100], y[i * 100:(i + 1) * 100], classes=classes)
        return est
    if name == "partial_fit_adam_f32_weights":
        est = C(hidden_layer_sizes=(16,), random_state=0, batch_size=20)
        for i in range(3):
            rows = slice(i * 100, (i + 1) * 100)
            est.partial_fit(f32[rows], y[rows], classes=np.unique(y), sample_weight=w[rows])
        return est
    if name == "warm_start":
        est = C(warm_start=True, **common).fit(X, y)
        est.set_params(max_iter=4)
        return est.fit(X, y)
    if name == "multilabel_leaky_relu":
        Y = np.column_stack([y % 2, y > 4, y == 3]).astype(int)
        return C(activation="leaky_relu", **common).fit(X, Y)
    if name == "regressor_adam_f32_multi":
        return R(**common).fit(f32, Yr)
    if name == "regressor_sgd_f64":
        return R(solver="sgd", learning_rate_init=0.01, **common).fit(X, Yr[:, 0])
    if name == "regressor_poisson_adam":
        return R(loss="poisson", **common).fit(X, np.round(Yr[:, 0] / 4))
    if name == "regressor_lbfgs":
        return R(solver="lbfgs", **dict(common, max_iter=10)).fit(X, Yr)
    if name == "regressor_partial_fit_sgd":
        est = R(solver="sgd", hidden_layer_sizes=(16,), random_state=0, learning_rate_init=0.01)
        for i in range(3):
            est.partial_fit(X[i * 100:(i + 1) * 100], Yr[i * 100:(i + 1) * 100])
        return est
    raise KeyError(name)


def digest(est):
    h = hashlib.sha256()
    for a in list(est.coefs_) + list(est.intercepts_):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:32]


def run_case(name, n_jobs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: the fits are short on purpose
        est = _fit(name) if n_jobs is None else _with_jobs(name, n_jobs)
    return digest(est)


def _with_jobs(name, n_jobs):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_jobs, user_api="openmp"):
        return _fit(name)


# Recorded before the refactoring of the training path (see the module docstring).
# One entry since: partial_fit_adam_f32_weights, once its zero-weight batches ran in the C++
# loop, not the Python one (float32 Adam's step is rounded in float32 there, float64 here);
# and avx2's sgd_plain_adaptive_tanh, once float64 tanh had its own AVX2 intrinsics (other
# roundings, within the same few ulp: test_stability.py).
DIGESTS = {
    'generic': {
        'adam_f64': '7316a18de76f81579b98e4817e02279e',
        'adam_f32': '96d325cb59489fac5bc05a6ec92981c5',
        'sgd_nesterov_f32': '0bc0676ac2abf1d902a18ebdc5745eb6',
        'sgd_momentum_invscaling': 'e2afa8d8362681e1023ca828118ef72a',
        'sgd_plain_adaptive_tanh': 'a1da51efb9330351e1e2fcf3b14eb19e',
        'lbfgs_f64': '2a8e0cd8a24567817d939d2328179633',
        'lbfgs_f32_logistic': 'a7511bc9e300daf5ab752b259b1f60df',
        'early_stopping_f64': '5134edb49df0a0329524441f89de75c3',
        'early_stopping_sgd_f32': '23201edc490bca900c7e6a43ca2ec257',
        'csr_adam': '7316a18de76f81579b98e4817e02279e',
        'csr_sgd_f32_shuffle_off': '5258b340a89df4588a9c8bd50a6dbb6b',
        'csc_lbfgs': 'e615b14e849bb4dde10cc0f3e5979ca4',
        'zero_weights_adam': 'b5175ca58b2974b912dcfeb4b9ba9091',
        'zero_weights_sgd_no_shuffle_f32': '89fc061a640c2c89feba2c0417c0472f',
        'zero_weights_csr_early_stopping': 'd83ed4d5cc19fe8184c58f70ec916247',
        'weights_lbfgs': 'a47dfc4cbe2591efb63d8c0228ce82da',
        'partial_fit': '82e1efad2ca89f0cf5d0f819f54f9b84',
        'partial_fit_adam_f32_weights': 'e06e8f1c5a79f3e13400e07e9fd6fc9c',
        'warm_start': 'c0f06ae5d0383230c53dbe01510e0974',
        'multilabel_leaky_relu': '07dd680bc0e8212c5d47ed3d28705d69',
        'regressor_adam_f32_multi': '333b966f21b141cbb959c80f8a2e6df9',
        'regressor_sgd_f64': '3ef9a74b16335a3ed1a80cbffb11d2db',
        'regressor_poisson_adam': '0674ecc3a6717c3f584168e1a27f1bf7',
        'regressor_lbfgs': 'e858358c2f8ea4460a759c1fec49b110',
        'regressor_partial_fit_sgd': 'b2965b932886c93f21b885fc04cd6a8c',
    },
    'avx2': {
        'adam_f64': 'd7586367430f360a62b296ad1a34b656',
        'adam_f32': '5e4a61f9bc2919a6d6b1a4f41397e0a0',
        'sgd_nesterov_f32': '5658840cfa60960c9de6bb4cf08def43',
        'sgd_momentum_invscaling': '308a1516db75bfafe878c378d5a06b83',
        'sgd_plain_adaptive_tanh': 'c82570c27d900e9f648af7cca6471835',
        'lbfgs_f64': '387538e3cec74fdf0a697f81ca452918',
        'lbfgs_f32_logistic': '96f4701ae8dac21e922bbebfd29a9b42',
        'early_stopping_f64': 'e1740be07ad149457c0d281e7d291313',
        'early_stopping_sgd_f32': '9e6ce0e5f3d984a7bb0e3ac02e3512a5',
        'csr_adam': 'd7586367430f360a62b296ad1a34b656',
        'csr_sgd_f32_shuffle_off': '5b199091f4699b78a65af1d6cd3df6bd',
        'csc_lbfgs': '0738662c1b46250be4061d6bd1dbcc69',
        'zero_weights_adam': '1b03ada36f06665321a27c364461ed8e',
        'zero_weights_sgd_no_shuffle_f32': 'dd16471528d3dc7aea6cd833653a8a7b',
        'zero_weights_csr_early_stopping': 'ed6e84703d9b6b8e43ce37c18a7eecfc',
        'weights_lbfgs': '66318f85afe96a37a4d6e8d06b419d9b',
        'partial_fit': '3a8ec858e8f2f8f6b5b7ed923ad0930f',
        'partial_fit_adam_f32_weights': 'd98aa19c5a578edfd5b476a7a3fb467e',
        'warm_start': 'e79d01010a5e662e9ac1f1bae1e3a110',
        'multilabel_leaky_relu': '42dbc4fb45e543977ee49c4e40ed3c32',
        'regressor_adam_f32_multi': '303d025f298d13cc6a04099f55a5b4c5',
        'regressor_sgd_f64': 'a08008c12bee2efe6d6b3e21e827b7a4',
        'regressor_poisson_adam': '8cf80001d6704dd2df15d2135d0ce1d7',
        'regressor_lbfgs': '78789d6e1e54ebf44ed10bae974bfbfc',
        'regressor_partial_fit_sgd': '2edaa8a1069034d9f8a362ea2a8ba10f',
    },
    'avx512': {
        'adam_f64': 'd7586367430f360a62b296ad1a34b656',
        'adam_f32': '5e4a61f9bc2919a6d6b1a4f41397e0a0',
        'sgd_nesterov_f32': '5658840cfa60960c9de6bb4cf08def43',
        'sgd_momentum_invscaling': '308a1516db75bfafe878c378d5a06b83',
        'sgd_plain_adaptive_tanh': 'ee03d8866034e36351155f98bcb4827c',
        'lbfgs_f64': '387538e3cec74fdf0a697f81ca452918',
        'lbfgs_f32_logistic': '96f4701ae8dac21e922bbebfd29a9b42',
        'early_stopping_f64': 'e1740be07ad149457c0d281e7d291313',
        'early_stopping_sgd_f32': '9e6ce0e5f3d984a7bb0e3ac02e3512a5',
        'csr_adam': 'd7586367430f360a62b296ad1a34b656',
        'csr_sgd_f32_shuffle_off': '5b199091f4699b78a65af1d6cd3df6bd',
        'csc_lbfgs': '0738662c1b46250be4061d6bd1dbcc69',
        'zero_weights_adam': '1b03ada36f06665321a27c364461ed8e',
        'zero_weights_sgd_no_shuffle_f32': 'b05e6cf8f7ea75199a8a829a712690c2',
        'zero_weights_csr_early_stopping': 'ed6e84703d9b6b8e43ce37c18a7eecfc',
        'weights_lbfgs': '66318f85afe96a37a4d6e8d06b419d9b',
        'partial_fit': '3a8ec858e8f2f8f6b5b7ed923ad0930f',
        'partial_fit_adam_f32_weights': '9083029a22868a4ad0efac40fa861d6d',
        'warm_start': 'e79d01010a5e662e9ac1f1bae1e3a110',
        'multilabel_leaky_relu': '42dbc4fb45e543977ee49c4e40ed3c32',
        'regressor_adam_f32_multi': '303d025f298d13cc6a04099f55a5b4c5',
        'regressor_sgd_f64': 'a08008c12bee2efe6d6b3e21e827b7a4',
        'regressor_poisson_adam': '8cf80001d6704dd2df15d2135d0ce1d7',
        'regressor_lbfgs': '78789d6e1e54ebf44ed10bae974bfbfc',
        'regressor_partial_fit_sgd': '2edaa8a1069034d9f8a362ea2a8ba10f',
    },
}

CASES = [
    "adam_f64", "adam_f32", "sgd_nesterov_f32", "sgd_momentum_invscaling",
    "sgd_plain_adaptive_tanh", "lbfgs_f64", "lbfgs_f32_logistic", "early_stopping_f64",
    "early_stopping_sgd_f32", "csr_adam", "csr_sgd_f32_shuffle_off", "csc_lbfgs",
    "zero_weights_adam", "zero_weights_sgd_no_shuffle_f32", "zero_weights_csr_early_stopping",
    "weights_lbfgs", "partial_fit", "partial_fit_adam_f32_weights", "warm_start",
    "multilabel_leaky_relu", "regressor_adam_f32_multi", "regressor_sgd_f64",
    "regressor_poisson_adam", "regressor_lbfgs", "regressor_partial_fit_sgd",
]


def _isa():
    return nnfast.config()["gemm_kernel"]


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_trained_parameters_are_unchanged(name, n_jobs):
    table = DIGESTS.get(_isa())
    if table is None:
        pytest.skip(f"no digests recorded for GEMM ISA {_isa()!r}")
    assert run_case(name, n_jobs) == table[name], (
        f"{name} (n_jobs={n_jobs}, ISA {_isa()}): the trained parameters changed")


def test_every_isa_this_cpu_has_a_table():
    """The skip above must not hide a whole machine: the ISAs nnfast selects on the CPUs
    it runs on here have tables."""
    assert _isa() in DIGESTS


def test_cases_are_all_recorded():
    for isa, table in DIGESTS.items():
        assert sorted(table) == sorted(CASES), isa


if __name__ == "__main__":
    print(f"    {_isa()!r}: {{")
    for name in CASES:
        print(f"        {name!r}: {run_case(name, None)!r},")
    print("    },")
    sys.exit(0)
