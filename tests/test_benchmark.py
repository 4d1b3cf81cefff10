import json
from dataclasses import replace

import numpy as np
import pytest

from motion_recon.configs import BenchmarkConfig
from motion_recon.functions.benchmark import Record, run_benchmark, run_starts, starting_points, tune_first_order
from motion_recon.functions.paper import agrees, load_paper_table
from motion_recon.functions.profiles import (
    iteration_ratios, iterations_to_reach, performance_profile, performance_ratios,
)
from motion_recon import optim
from pipelines.benchmark import run_functions_benchmark


def _record(function, optimizer, final_mean, minimum=0.0, curve=(1.0,)):
    return Record(
        function=function, dim=2, optimizer=optimizer, config={}, minimum=minimum, final_values=[final_mean],
        final_mean=final_mean, final_median=final_mean, final_std=0.0, gap_mean=final_mean - minimum,
        nfev_mean=1.0, nit_mean=1.0, n_nonfinite=0, loss_mean=list(curve),
    )


def test_performance_ratios_hand_computed():
    records = [
        _record("a", "x", 1.0), _record("a", "y", 4.0), _record("a", "z", 2.0),  # m = .25, 1, .5
        _record("b", "x", 0.0), _record("b", "y", 3.0), _record("b", "z", 0.0),  # best at f*
        _record("c", "x", -1.0, minimum=-1.0), _record("c", "y", -1.0, minimum=-1.0),
        _record("c", "z", np.inf, minimum=-1.0),  # failure
    ]
    problems, optimizers, r = performance_ratios(records)
    assert problems == [("a", 2), ("b", 2), ("c", 2)] and optimizers == ["x", "y", "z"]
    np.testing.assert_allclose(r[0], [1.0, 4.0, 2.0])
    np.testing.assert_array_equal(r[1], [1.0, np.inf, 1.0])
    np.testing.assert_array_equal(r[2], [1.0, 1.0, np.inf])
    rho = performance_profile(r, np.array([1.0, 2.0, 4.0]))
    np.testing.assert_allclose(rho, [[1, 1, 1], [1 / 3, 1 / 3, 2 / 3], [1 / 3, 2 / 3, 2 / 3]])


def test_iteration_ratios_hand_computed():
    base = _record("a", "adam", 1.0, curve=[10, 8, 6, 4, 3, 2])
    ref = _record("a", "bfgs", 1.0, curve=[10, 3, 2, 1, 1, 1])
    assert iterations_to_reach(base.loss_mean, 4.0) == 3 and iterations_to_reach([5, 5], 1.0) == np.inf
    ratios = iteration_ratios([base, ref], "bfgs", at_iteration=3)
    # adam reaches its own loss at iteration 3 (4 evaluations); bfgs reaches 4 at iteration 1 (2)
    assert ratios == {"adam": [("a 2d", 2.0)]}


def test_agreement_rule():
    assert agrees(5.0, 1.0) and agrees(1e-8, 1e-12) and not agrees(11.0, 1.0)
    assert not agrees(-2.0, 5.0) and not agrees(np.inf, 1.0)


def test_paper_table_is_complete():
    paper = load_paper_table()
    assert len(paper) == 15 * 8
    assert paper["rastrigin", 10]["bfgs"] == pytest.approx(304.0)
    assert set(paper["sphere", 2]) == {"bfgs", "optimus", "adafactor-mlp", "adam", "gd-momentum"}


def test_tuning_picks_the_rate_with_the_lowest_mean_final_value():
    starts = np.random.default_rng(0).uniform(-10, 10, (4, 3))
    rates = [1e-5, 1e-2, 10.0]  # too slow, right, diverging
    rec = tune_first_order(optim.get("gd-momentum"), "sphere", 3, starts, rates, 200)
    assert rec.config["learning_rate"] == pytest.approx(1e-2)
    assert rec.final_mean < 1e-3 and len(rec.loss_mean) == 201 and rec.nfev_mean == 201


def test_starting_points_are_seeded_and_shared():
    config = BenchmarkConfig(starts=5)
    a, b = starting_points(config, "sphere", 4), starting_points(config, "sphere", 4)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5, 4) and np.abs(a).max() <= 10.0
    assert not np.array_equal(a, starting_points(BenchmarkConfig(starts=5, seed=1), "sphere", 4))


def test_config_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown function"):
        BenchmarkConfig(functions=("spere",))
    with pytest.raises(ValueError, match="unknown optimizer"):
        BenchmarkConfig(optimizers=("bfsg",))
    with pytest.raises(ValueError, match="at least 2"):
        BenchmarkConfig(dims=(1,))


def test_tiny_benchmark_writes_json_table_and_plots(tmp_path):
    config = BenchmarkConfig(
        functions=("sphere", "rosenbrock"), dims=(2, 3), optimizers=("bfgs", "adam", "gd-momentum"),
        starts=3, iterations=20, learning_rates=(1e-3, 1e-2, 1e-1), workers=1,
    )
    records, report = run_functions_benchmark(
        config, json_path=tmp_path / "r.json", table_path=tmp_path / "t.md", plots_dir=tmp_path / "plots",
    )
    assert len(records) == 2 * 2 * 3
    data = json.loads((tmp_path / "r.json").read_text())
    assert len(data["records"]) == 12 and data["protocol"]["starts"] == 3
    rec = next(r for r in data["records"] if r["optimizer"] == "bfgs" and r["function"] == "sphere")
    assert len(rec["final_values"]) == 3 and len(rec["loss_mean"]) == 21 and rec["final_mean"] < 1e-8
    table = (tmp_path / "t.md").read_text()
    assert "| Sphere 2d |" in table and "BFGS (paper)" in table and "7.07e-14" in table
    for name in ("performance_profile.png", "iteration_ratios.png"):
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["agreement_with_paper"]["bfgs"]["rows"] == 2  # the paper has no 3d rows


def test_learned_optimizers_run_batched_and_match_minimize(tmp_path):
    from motion_recon.functions.benchmark import run_learned
    from motion_recon.functions import make_problem

    opt = optim.get("optimus", seed=0)
    starts = np.random.default_rng(0).uniform(-10, 10, (3, 4))
    rec = run_learned(opt, "rosenbrock", 4, starts, 6)
    single = opt.minimize(make_problem("rosenbrock", 4).loss, starts[1], budget=6)
    np.testing.assert_allclose(rec.final_values[1], single.fun, rtol=1e-4)
    assert rec.config["checkpoint"] == "untrained (seed 0)" and len(rec.loss_mean) == 7


def _adam_on_sphere(mode: str) -> BenchmarkConfig:
    # one learning rate, large enough that Adam's loss rises again near the minimum
    return BenchmarkConfig(functions=("sphere",), dims=(2,), optimizers=("adam",), starts=4, iterations=100,
                           learning_rates=(0.3,), workers=1, mode=mode)  # fmt: skip


def test_stopping_mode_ends_runs_by_the_papers_rule_with_fewer_evaluations(tmp_path):
    fixed = run_benchmark(_adam_on_sphere("fixed"))[0]
    records, _ = run_functions_benchmark(_adam_on_sphere("stopping"), json_path=tmp_path / "r.json",
                                         table_path=tmp_path / "t.md")  # fmt: skip
    stopping = records[0]
    assert (fixed.mode, fixed.nfev_mean, fixed.nit_mean) == ("fixed", 101, 100)
    assert stopping.mode == "stopping" and stopping.config["learning_rate"] == fixed.config["learning_rate"]
    assert stopping.nfev_mean < 50 and stopping.nit_mean == stopping.nfev_mean - 1  # no evaluation after a stop
    finals, nfev, nit, curves = run_starts(optim.get("adam", learning_rate=0.3), _adam_on_sphere("stopping"),
                                           "sphere", 2, np.arange(4))  # fmt: skip
    assert np.mean(nfev) == stopping.nfev_mean and finals == stopping.final_values
    for final, k, curve in zip(finals, nit, curves):
        # N = 5: the first iteration whose loss is above the mean of the 5 before it
        assert 5 <= k < 100 and curve[k] == final and curve[k] > curve[k - 5 : k].mean()
        assert all(curve[j] <= curve[j - 5 : j].mean() for j in range(5, k)) and np.all(curve[k:] == final)
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["protocol"]["mode"] == "stopping" and data["records"][0]["nfev_mean"] == stopping.nfev_mean
    table = (tmp_path / "t.md").read_text()
    assert "| Adam evals |" in table and table.rstrip().endswith(f"| {stopping.nfev_mean:.1f} |")
    written_before_modes = {k: v for k, v in data["records"][0].items() if k != "mode"}
    assert Record(**written_before_modes).mode == "fixed"


def test_basin_hopping_mode_counts_every_evaluation_and_ends_at_its_best():
    config = BenchmarkConfig(functions=("rastrigin",), dims=(2,), optimizers=("gd-momentum",), starts=3,
                             iterations=60, learning_rates=(1e-2,), workers=1, mode="basin-hopping")  # fmt: skip
    opt = optim.get("gd-momentum", learning_rate=1e-2)
    finals, nfev, nit, curves = run_starts(opt, config, "rastrigin", 2, np.arange(3))
    # hops after iterations 25 and 51 count as iterations; each segment evaluates its last point
    # once more: 26 + 26 + 9 evaluations, as many as a fixed run's 61
    assert nfev == [61, 61, 61] and nit == [60, 60, 60]
    fixed_curves = run_starts(opt, replace(config, mode="fixed"), "rastrigin", 2, np.arange(3))[3]
    for final, curve, fixed in zip(finals, curves, fixed_curves):
        assert final == curve.min()  # the best iterate, not the last
        np.testing.assert_allclose(curve[:26], fixed[:26], rtol=1e-5)  # the first segment is a fixed run
        assert abs(curve[26] - fixed[26]) > 1e-3  # then a perturbed point
    record = run_benchmark(config)[0]
    assert (record.mode, record.nfev_mean, record.nit_mean) == ("basin-hopping", 61, 60)
    np.testing.assert_allclose(record.final_values, finals, rtol=1e-6)
    # a start's perturbations come from its index, not from how the starts are split
    assert run_starts(opt, config, "rastrigin", 2, np.array([2]))[0] == finals[2:]


def test_learned_optimizers_run_with_their_checkpoint_in_every_mode():
    # a learned optimizer is a GradientOptimizer too, but has no learning rate to tune
    for mode in ("fixed", "basin-hopping"):
        config = BenchmarkConfig(functions=("sphere",), dims=(2,), optimizers=("adafactor-mlp",), starts=2,
                                 iterations=10, workers=1, mode=mode)  # fmt: skip
        record = run_benchmark(config)[0]
        assert record.config["checkpoint"].endswith("adafactor-mlp-functions") and record.mode == mode
        assert record.nfev_mean == 11 and record.final_mean < record.loss_mean[0]  # no hop within 10 iterations
