"""scikit-learn's own test suites, run on nnfast's estimators.

1. ``sklearn.utils.estimator_checks.parametrize_with_checks`` over both estimators, with the
   instance parameters scikit-learn's own test suite gives its MLPs (max_iter=100).
   scikit-learn's MLPClassifier and MLPRegressor pass every check that applies to them (it
   lists no expected failure for them), so nnfast marks none either.
2. ``check_param_validation`` (run by scikit-learn's test_common, not by
   parametrize_with_checks): every constructor parameter is validated on fit and
   partial_fit with InvalidParameterError.
3. scikit-learn's ``neural_network/tests/test_mlp.py`` itself, with its import of
   MLPClassifier / MLPRegressor pointed at nnfast (where the installed scikit-learn ships
   its tests). It reaches into private state (``_optimizer.learning_rate``,
   ``_no_improvement_count``, ``_loss_grad_lbfgs``, assigning ``coefs_`` on an unfitted
   model), which nnfast keeps under the same names for that reason.
"""
import pathlib
import subprocess
import sys

import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")
from sklearn.utils.estimator_checks import (  # noqa: E402
    check_param_validation,
    check_sample_weight_equivalence_on_dense_data,
    parametrize_with_checks,
)

from nnfast import MLPClassifier, MLPRegressor  # noqa: E402


@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_param_validation(Estimator):
    check_param_validation(Estimator.__name__, Estimator(max_iter=5))


@pytest.mark.parametrize("estimator", [
    # the parameter sets scikit-learn's own suite uses for this check (stochastic solvers
    # see different batches when samples are repeated instead of weighted)
    MLPClassifier(solver="lbfgs"),
    MLPRegressor(solver="sgd", tol=1e-2, random_state=42),
    # full-batch Adam: weights and repetitions see the same batches
    MLPClassifier(solver="adam", batch_size=1000, max_iter=50, shuffle=False),
], ids=["clf-lbfgs", "reg-sgd", "clf-adam-full-batch"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sample_weight_equivalence_with_sklearns_parameters(estimator):
    check_sample_weight_equivalence_on_dense_data(type(estimator).__name__, estimator)


def test_sklearns_own_mlp_test_suite(tmp_path):
    source = pathlib.Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    if not source.exists():
        pytest.skip("this scikit-learn installation does not ship its tests")
    text = source.read_text()
    original = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
    if original not in text:
        pytest.skip("scikit-learn's test_mlp.py imports the estimators differently")
    (tmp_path / "test_mlp_on_nnfast.py").write_text(
        text.replace(original, "from nnfast import MLPClassifier, MLPRegressor"))
    (tmp_path / "conftest.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef global_random_seed():\n    return 42\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         "-W", "ignore::DeprecationWarning", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
