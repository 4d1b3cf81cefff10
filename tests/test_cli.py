import json

from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def test_bench_functions_runs_and_writes_outputs(tmp_path):
    out = tmp_path / "bench.json"
    result = runner.invoke(app, [
        "bench", "functions", "--functions", "sphere", "--dims", "2", "--optimizers", "bfgs,adam",
        "--starts", "2", "--iters", "10", "--workers", "1", "--json", str(out), "--plots", str(tmp_path),
    ])
    assert result.exit_code == 0, result.output
    assert "sphere 2d" in result.output and "within 10x of the paper" in result.output
    assert len(json.loads(out.read_text())["records"]) == 2
    assert (tmp_path / "performance_profile.png").exists()


def test_unknown_names_and_bad_values_exit_2_with_one_line():
    for args, text in [
        (["--functions", "spere"], "unknown function 'spere'"),
        (["--optimizers", "bfsg"], "unknown optimizer 'bfsg'"),
        (["--dims", "2,x"], "--dims takes comma-separated integers"),
        (["--starts", "0"], "must be positive"),
        (["--starts", "abc"], "--starts takes an integer"),
        (["--start-range", "wide"], "--start-range takes a number"),
    ]:
        result = runner.invoke(app, ["bench", "functions", *args])
        assert result.exit_code == 2, result.output
        assert text in result.output and len(result.output.strip().splitlines()) == 1


def test_existing_json_survives_a_failed_run(tmp_path):
    out = tmp_path / "keep.json"
    out.write_text("{}")
    result = runner.invoke(app, ["bench", "functions", "--functions", "nope", "--json", str(out)])
    assert result.exit_code == 2 and out.read_text() == "{}"


def test_train_writes_a_checkpoint_and_rejects_bad_settings(tmp_path):
    result = runner.invoke(app, ["train", "adafactor-mlp", "--out", str(tmp_path / "ck"), "--steps", "2",
                                 "--batch", "2", "--trunc", "25"])
    assert result.exit_code == 0, result.output
    assert "step 1/2: meta-loss" in result.output  # not a terminal: progress comes as lines
    assert (tmp_path / "ck" / "weights.npz").exists() and (tmp_path / "ck" / "config.json").exists()
    for args, text in [(["sgd"], "unknown learned optimizer 'sgd'"), (["optimus", "--trunc", "7"], "multiple of trunc"),
                       (["optimus", "--tasks", "poems"], "unknown task family 'poems'")]:
        result = runner.invoke(app, ["train", *args, "--out", str(tmp_path / "x")])
        assert result.exit_code == 2 and text in result.output, result.output
