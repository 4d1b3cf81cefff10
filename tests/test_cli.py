import json

import numpy as np
import pytest
from typer.testing import CliRunner

from motion_recon.datasets.arrays import read_npz
from motion_recon.paths import data_dir
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
        (["--mode", "greedy"], "unknown mode 'greedy'; choose from fixed, stopping, basin-hopping"),
    ]:
        result = runner.invoke(app, ["bench", "functions", *args])
        assert result.exit_code == 2, result.output
        assert text in result.output and len(result.output.strip().splitlines()) == 1


def test_bench_functions_help_names_the_modes():
    from motion_recon import optim

    result = runner.invoke(app, ["bench", "functions", "--help"], env={"COLUMNS": "300"})
    line = next(line for line in result.output.splitlines() if "--mode" in line)
    assert result.exit_code == 0 and "fixed, stopping, basin-hopping:" in line and "[default: fixed]" in line
    assert f"every {optim.BasinHopping.hop_every} iterations" in line


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


# The bad inputs of issue 23, each as a new user would give it: (case, command line with {dir}
# for the test's folder, {walk} and {clip} for the bundled samples, what the one error line says).
BAD_INPUTS = [
    ("unreadable-video", ["video", "{dir}/notes.mp4"], "notes.mp4: not a readable video"),
    ("truncated-video", ["video", "{dir}/cut.mp4"], "cut.mp4: not a readable video"),
    ("missing-video", ["video", "{dir}/missing.mp4"], "missing.mp4: no such file"),
    ("garbage-motion", ["mocap", "{dir}/garbage.npz"], "garbage.npz: not a readable .npz file (not a zip archive"),
    ("truncated-motion", ["mocap", "{dir}/cut.bvh"], "cut.bvh: not a readable BVH file (it ends inside the HIERARCHY"),
    ("all-nan-motion", ["mocap", "{dir}/nan.npz"], "nan.npz: some frames have no keypoints (all NaN)"),
    ("wrong-shape-motion", ["mocap", "{dir}/flat.npz"], "flat.npz: keypoints must have shape (T, 17, 3), got (32, 17, 2)"),
    ("too-short-motion", ["mocap", "{dir}/short.npz"], "short.npz: a sequence of 4 frames is shorter than one window"),
    ("bad-c3d", ["mocap", "{dir}/noise.c3d"], "noise.c3d: not a readable C3D file"),
    ("random-keypoints", ["mocap", "{dir}/noise.npz"],
     "noise.npz: body height 35.46 m from the bone lengths is outside 0.9-2.5 m; are the units metres and the joints in the h36m17 layout?"),
    ("malformed-keypoints-json", ["video", "{clip}", "--keypoints", "{dir}/people.json"], "people.json: not valid JSON"),
    ("zero-max-evals", ["mocap", "{walk}", "--max-evals", "0"], "max_evals must be at least 1, got 0"),
    ("unknown-optimizer", ["mocap", "{walk}", "--optimizer", "newton"], "unknown optimizer 'newton'; choose one of"),
    ("empty-checkpoint-folder", ["mocap", "{walk}", "--optimizer", "optimus", "--checkpoint", "{dir}/ckpt"],
     "ckpt: missing weights.npz"),
    ("render-non-result", ["render", "{dir}/notes.h5"], "notes.h5: not an HDF5 file"),
    ("view-non-result", ["view", "{dir}/notes.h5"], "notes.h5: not an HDF5 file"),
]  # fmt: skip


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    """The bad input files, written once."""
    folder = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    (folder / "notes.mp4").write_text("hello")
    clip = (data_dir() / "samples" / "walk.mp4").read_bytes()
    (folder / "cut.mp4").write_bytes(clip[: len(clip) // 3])
    (folder / "garbage.npz").write_bytes(rng.bytes(2000))
    (folder / "cut.bvh").write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n  CHANNELS 6 Xposition Yposition Zposition "
                                    "Zrotation Xrotation Yrotation\n  JOINT LeftUpLeg\n  {\n    OFFSET 0.1 0")  # fmt: skip
    walk = read_npz(data_dir() / "samples" / "mocap_walk.npz").keypoints
    np.savez(folder / "nan.npz", keypoints=np.full_like(walk, np.nan), fps=25.0)
    np.savez(folder / "flat.npz", keypoints=walk[..., :2], fps=25.0)
    np.savez(folder / "short.npz", keypoints=walk[5:9], fps=25.0)
    np.savez(folder / "noise.npz", keypoints=rng.uniform(0.0, 10.0, (40, 17, 3)), fps=25.0)
    (folder / "noise.c3d").write_bytes(rng.bytes(3000))
    (folder / "people.json").write_text('{"frames": [1, 2')
    (folder / "ckpt").mkdir()
    (folder / "notes.h5").write_text("not a result")
    return folder


@pytest.mark.parametrize("args, message", [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_a_bad_input_exits_2_with_one_line_and_leaves_the_output_alone(bad_files, tmp_path, capfd, args, message):
    """Exit 2, exactly one line on stderr (naming the file where there is one), nothing on stdout
    nor from a child process (OpenCV's FFmpeg log in the video process) and an existing output
    file as it was."""
    out = tmp_path / ("keep.mp4" if args[0] == "render" else "keep.h5")
    out.write_bytes(b"old output")
    samples = data_dir() / "samples"
    args = [a.format(dir=bad_files, walk=samples / "mocap_walk.npz", clip=samples / "walk.mp4") for a in args]
    result = runner.invoke(app, args if args[0] == "view" else [*args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in lines[0], result.stderr
    assert result.stdout.strip() == "" and out.read_bytes() == b"old output"
    child = capfd.readouterr()  # what a child process (the video process) wrote to the terminal
    assert child.out == child.err == "", child


def test_the_command_line_imports_no_jax():
    """``recon --help`` and option parsing stay fast: JAX loads only when a command runs."""
    import subprocess
    import sys

    code = "import sys, pipelines.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib', 'mujoco')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_option_defaults_are_the_config_defaults():
    from typer.main import get_command

    from motion_recon.configs import BenchmarkConfig, TrainConfig
    from pipelines.configs import MocapConfig, VideoConfig

    commands = get_command(app).commands
    expected = {
        ("video", "max_evals"): VideoConfig().max_evals, ("video", "optimizer"): VideoConfig().optimizer,
        ("video", "seed"): VideoConfig().seed, ("demo", "max_evals"): VideoConfig().max_evals,
        ("mocap", "max_evals"): MocapConfig().max_evals, ("mocap", "optimizer"): MocapConfig().optimizer,
        ("mocap", "engine"): MocapConfig().engine, ("mocap", "parallel"): MocapConfig().parallel_rounds,
        ("eval", "optimizer"): MocapConfig().optimizer,
        ("train", "steps"): TrainConfig().steps, ("train", "batch"): TrainConfig().batch,
        ("train", "trunc"): TrainConfig().trunc, ("train", "tasks"): TrainConfig().tasks,
    }
    for (command, option), value in expected.items():
        params = {p.name: p for p in commands[command].params}
        assert params[option].default == value, (command, option)
    bench = {p.name: p for p in commands["bench"].commands["functions"].params}
    assert bench["iters"].default == BenchmarkConfig.iterations and bench["start_range"].default == BenchmarkConfig.start_range
