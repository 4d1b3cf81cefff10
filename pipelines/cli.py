"""The ``recon`` command line: parse arguments, call the library, write outputs."""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from motion_recon.configs import BASELINES, BENCHMARK_MODES, PAPER_DIMS, BenchmarkConfig, TrainConfig
from pipelines.configs import BASIN_HOPPING, VIDEO_LOSS, MocapConfig, VideoConfig
from pipelines.summaries import agreement_lines, functions_table, made_by_line, metrics_table, result_lines, video_line

app = typer.Typer(help="Physics-based human motion reconstruction with learned optimizers.", no_args_is_help=True)
bench = typer.Typer(help="Benchmarks of the optimizers.", no_args_is_help=True)
app.add_typer(bench, name="bench")
# on a terminal rich fits the terminal; redirected (a log file, a pipe) no line is wrapped and tables
# get room, so paths and messages stay whole for grep and copy-paste
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 240)
USAGE_ERROR = 2
DIFFPHY_OPTIMIZERS = ("adam", "bfgs", "optimus", "adafactor-mlp", "lbfgs", "gd-momentum")


def _optimizer_help(default: str, where: str) -> str:
    return f"{', '.join(DIFFPHY_OPTIMIZERS)} ({default}: the best measured {where})."


MOCAP_OPTIMIZER_HELP = _optimizer_help(MocapConfig.optimizer, "on mocap")
VIDEO_OPTIMIZER_HELP = _optimizer_help(VideoConfig.optimizer, "on video")
BASIN_HOPPING_HELP = (f"Perturb a window's best controls every {BASIN_HOPPING['hop_every']} iterations and go on within "
                      "its budget (the paper's Table 4).")


def fail(message: str, code: int = USAGE_ERROR) -> None:
    """One-line error on stderr and a non-zero exit (the message is plain text, never markup:
    'pip install "motion-recon[viewer]"' keeps its brackets)."""
    Console(stderr=True).print(f"[bold red]recon: error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _names(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(n.strip() for n in text.split(",") if n.strip())


def _ints(text: str | None, what: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        fail(f"--{what} takes comma-separated integers, got {text!r}")


def integer(option: str):
    """A typer ``parser`` for ``--option``: an int, or a one-line error (not typer's usage box)."""
    return lambda text: _number(text, option, int)


def number(option: str):
    """A typer ``parser`` for ``--option``: a float, or a one-line error."""
    return lambda text: _number(text, option, float)


def _number(text, option: str, kind: type):
    try:
        return kind(text)
    except ValueError:
        fail(f"--{option} takes {'an integer' if kind is int else 'a number'}, got {text!r}")


LOG_EVERY_S = 30.0  # seconds between progress lines when the output is not a terminal (no live bar)


class _PipedLog:
    """Progress as plain lines where rich draws no live bar (output redirected to a log file):
    a line at each stream's first report, at its last (``done == total``) and every LOG_EVERY_S
    seconds between; nothing on a terminal."""

    def __init__(self):
        self.last: dict[str, float] = {}

    def __call__(self, stream: str, line: str, done: int, total: int | None) -> None:
        if console.is_terminal:
            return
        now = time.monotonic()
        if stream not in self.last or done == total or now - self.last[stream] >= LOG_EVERY_S:
            console.print(line, highlight=False, soft_wrap=True)
            self.last[stream] = now


@bench.command("functions")
def bench_functions(
    functions: Annotated[Optional[str], typer.Option(help="Comma-separated function names (default: all 15).")] = None,
    dims: Annotated[Optional[str], typer.Option(help=f"Comma-separated dimensions (default: {','.join(map(str, PAPER_DIMS))}; --quick: 2,10).")] = None,
    optimizers: Annotated[Optional[str], typer.Option(help=f"Comma-separated optimizers (default: {','.join(BASELINES)}).")] = None,
    starts: Annotated[Optional[int], typer.Option(parser=integer("starts"), metavar="INTEGER", help=f"Random starts per problem (default: {BenchmarkConfig.starts}; --quick: 16).")] = None,
    iters: Annotated[int, typer.Option(parser=integer("iters"), metavar="INTEGER", help="Iterations per run.")] = BenchmarkConfig.iterations,
    seed: Annotated[int, typer.Option(parser=integer("seed"), metavar="INTEGER", help="Seed of the random starts.")] = BenchmarkConfig.seed,
    start_range: Annotated[float, typer.Option(parser=number("start-range"), metavar="NUMBER", help="Starts are drawn from U[-R, R]^d.")] = BenchmarkConfig.start_range,
    workers: Annotated[Optional[int], typer.Option(parser=integer("workers"), metavar="INTEGER", help="Processes for scipy's methods (default: CPU count).")] = None,
    mode: Annotated[str, typer.Option(metavar="MODE", help=f"{', '.join(BENCHMARK_MODES)}: how a run spends --iters (the paper's Table 4): fixed runs them all; stopping ends it early by the paper's rule (N = 5); basin-hopping perturbs the best point every 25 iterations, a hop counting as one.")] = BenchmarkConfig.mode,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write every record as JSON here.")] = None,
    table: Annotated[Optional[Path], typer.Option(help="Write the Table 8 markdown here.")] = None,
    plots: Annotated[Optional[Path], typer.Option(help="Write performance_profile.png and iteration_ratios.png here.")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Small run (d 2,10; 16 starts; 7 learning rates), under a minute.")] = False,
) -> None:
    """The paper's classical benchmark (section 5.1, Table 8) with the paper's values beside ours."""
    from motion_recon.functions.paper import load_paper_table
    from pipelines.benchmark import QUICK, run_functions_benchmark

    given = {
        "functions": _names(functions), "dims": _ints(dims, "dims"), "optimizers": _names(optimizers),
        "starts": starts, "iterations": iters,
        "workers": workers,
    }
    settings = {**(QUICK if quick else {}), **{k: v for k, v in given.items() if v is not None}}
    try:
        config = BenchmarkConfig(
            seed=seed, start_range=start_range, mode=mode, **settings
        )
    except ValueError as err:
        fail(str(err))
    total = len(config.functions) * len(config.dims) * len(config.optimizers)
    with Progress(
        TextColumn("[bold]bench functions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=console,
    ) as progress:
        task, log, done = progress.add_task("starting", total=total), _PipedLog(), iter(range(1, total + 1))

        def report_cell(label: str) -> None:
            progress.update(task, advance=1, description=label)
            count = next(done)
            log("cells", f"bench functions {count}/{total}: {label}", count, total)

        try:
            records, report = run_functions_benchmark(
                config, json_path=json_path, table_path=table, plots_dir=plots, progress=report_cell
            )
        except FileNotFoundError as err:
            fail(str(err))
    console.print(functions_table(records, load_paper_table()))
    for line in agreement_lines(report):
        console.print(line)
    for path in (json_path, table, plots):
        if path is not None:
            console.print(f"wrote {path}")


RAY_HELP = "Run the {what} on Ray: local (this machine), auto (the cluster joined with ray start) or an address."


@app.command("train")
def train_command(
    optimizer: Annotated[str, typer.Argument(help="optimus or adafactor-mlp.")],
    out: Annotated[Path, typer.Option(help="Checkpoint folder (resumed when it holds a run).")],
    tasks: Annotated[str, typer.Option(help="Task family: functions, or diffphy (the DiffPhy training pool of pipelines/motion_pools.py: mocap and video-style windows).")] = TrainConfig.tasks,
    steps: Annotated[int, typer.Option(parser=integer("steps"), metavar="INTEGER", help="Outer (meta) steps.")] = TrainConfig.steps,
    batch: Annotated[int, typer.Option(parser=integer("batch"), metavar="INTEGER", help="Tasks per outer step (antithetic pairs).")] = TrainConfig.batch,
    trunc: Annotated[int, typer.Option(parser=integer("trunc"), metavar="INTEGER", help="Inner steps per PES truncation.")] = TrainConfig.trunc,
    seed: Annotated[int, typer.Option(parser=integer("seed"), metavar="INTEGER", help="Seed of the whole run.")] = TrainConfig.seed,
    variant: Annotated[str, typer.Option(help="Optimus ablation: full, no-state, no-structure.")] = "full",
    hidden_size: Annotated[int, typer.Option(parser=integer("hidden-size"), metavar="INTEGER", help="Adafactor-MLP width (128 or 512 in the paper).")] = 128,
    init: Annotated[Optional[str], typer.Option(help="Start from this checkpoint folder (fine-tuning).")] = None,
    ray: Annotated[Optional[str], typer.Option(help=RAY_HELP.format(what="PES rollouts (the learner stays here)"))] = None,
) -> None:
    """Meta-train a learned optimizer with PES (the paper's section 3.1 and supplement B)."""
    from pipelines.train import run_training

    try:
        config = TrainConfig(
            optimizer=optimizer, tasks=tasks, steps=steps, batch=batch,
            trunc=trunc, seed=seed, init=init,
        )
        with Progress(
            TextColumn(f"[bold]train {optimizer}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.description}"), console=console,
        ) as progress:
            bar, log = progress.add_task("compiling", total=config.steps), _PipedLog()

            def report(e: dict) -> None:
                line = f"meta-loss {e['meta_loss']:.3f}  {e['steps_per_s']:.2f} steps/s  {e['task']}"
                progress.update(bar, completed=e["step"], description=line)
                log("steps", f"step {e['step']}/{config.steps}: {line}", e["step"], config.steps)

            last = run_training(config, out, variant=variant, hidden_size=hidden_size,
                                ray_address=ray, progress=report)  # fmt: skip
    except (ValueError, FileNotFoundError, ImportError, RuntimeError) as err:
        fail(str(err))
    console.print(f"step {last['step']}: meta-loss {last['meta_loss']:.3f}; checkpoint in {out}")


def _window_progress(label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn("windows"),
        TimeElapsedColumn(), console=console, transient=True,
    )


@app.command("mocap")
def mocap_command(
    file: Annotated[Path, typer.Argument(help="Motion file: Human3.6M .cdf, AIST++ .pkl, .bvh, .c3d (markers) or .npz (T, 17, 3).")],
    optimizer: Annotated[str, typer.Option(help=MOCAP_OPTIMIZER_HELP)] = MocapConfig.optimizer,
    max_evals: Annotated[int, typer.Option(parser=integer("max-evals"), metavar="INTEGER", help="Function evaluations per window.")] = MocapConfig.max_evals,
    engine: Annotated[str, typer.Option(help="Simulator of the result: mjx, or tds / mujoco (forward only, MJX gradients).")] = MocapConfig.engine,
    out: Annotated[Optional[Path], typer.Option(help="Result file (HDF5).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the metrics as JSON here.")] = None,
    start: Annotated[int, typer.Option(parser=integer("start"), metavar="INTEGER", help="First frame (in the file's frame rate).")] = 0,
    frames: Annotated[Optional[int], typer.Option(parser=integer("frames"), metavar="INTEGER", help="Number of frames (default: to the end).")] = None,
    stopping: Annotated[bool, typer.Option("--stopping", help="Stop a window early by the paper's rule (N = 5).")] = False,
    basin_hopping: Annotated[bool, typer.Option("--basin-hopping", help=BASIN_HOPPING_HELP)] = False,
    checkpoint: Annotated[Optional[str], typer.Option(help="Learned optimizer checkpoint folder.")] = None,
    seed: Annotated[int, typer.Option(parser=integer("seed"), metavar="INTEGER", help="Seed.")] = MocapConfig.seed,
    parallel: Annotated[int, typer.Option(parser=integer("parallel"), metavar="INTEGER", help="0: windows one after another; R: all windows together, R rounds of multiple shooting (max-evals each).")] = MocapConfig.parallel_rounds,
    units: Annotated[Optional[str], typer.Option(help="Length unit: BVH m, cm, mm, inch, foot or cmu (default: detected from the skeleton's legs); C3D mm, cm or m (default: POINT:UNITS).")] = None,
    markers: Annotated[Optional[Path], typer.Option(help="C3D: JSON mapping marker names (LASI, LKNE, ...) to this file's labels, for a custom marker set.")] = None,
) -> None:
    """Reconstruct a motion-capture sequence in physical simulation and print its metrics."""
    from motion_recon.datasets import read_motion
    from motion_recon.io import write_json
    from motion_recon.result_file import write_result
    from pipelines.evaluate import summary
    from pipelines.mocap import reconstruct_motion

    first, count = start, frames
    try:
        if engine not in ("mjx", "tds", "mujoco"):
            raise ValueError(f"unknown engine {engine!r}; choose mjx, tds or mujoco")
        sequence = read_motion(file, units, markers=markers)
        if "units" in sequence.source:
            console.print(f"units: {sequence.source['units']} ({sequence.source['units_chosen']})", soft_wrap=True)
        if "up" in sequence.source:
            console.print(f"up: {sequence.source['up']} (detected: the head above the ankles)", soft_wrap=True)
        for warning in sequence.source.get("warnings", []):
            console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
        if first or count is not None:
            sequence = sequence.frames(first, len(sequence.keypoints) if count is None else first + count)
        config = MocapConfig(optimizer=optimizer, max_evals=max_evals, engine=engine,
                             stopping=stopping, basin_hopping=basin_hopping, seed=seed, checkpoint=checkpoint,
                             parallel_rounds=parallel)  # fmt: skip
        unit = "rounds" if config.parallel_rounds else "windows"
        with _window_progress(f"mocap {sequence.name}") as progress:
            bar, log = progress.add_task(unit, total=None), _PipedLog()

            def report(done: int, total: int) -> None:
                progress.update(bar, completed=done, total=total)
                log(unit, f"mocap {sequence.name}: {done}/{total} {unit}", done, total)

            result = reconstruct_motion(sequence, config, progress=report)
    except (ValueError, FileNotFoundError) as err:
        fail(str(err))
    console.print(metrics_table(f"{sequence.name}: {optimizer}, {engine}", {sequence.name: summary(result)}))
    if out is not None:
        write_result(out, result)
        console.print(f"wrote {out}")
    if json_path is not None:
        write_json(json_path, {"sequence": sequence.name, "optimizer": optimizer, **summary(result)})
        console.print(f"wrote {json_path}")


STAGE_LABELS = {"detect": "detect (frames)", "initialise": "initialise", "optimize": "optimize (windows)",
                "render": "render overlay (frames)"}  # fmt: skip


class _StageBars:
    """One progress bar per pipeline stage, created when the stage reports first."""

    def __init__(self, progress: Progress):
        self.progress, self.tasks, self.log = progress, {}, _PipedLog()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        label = STAGE_LABELS.get(stage, stage)
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(label, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)
        self.log(stage, f"{label}: {done}/{total if total is not None else '?'}", done, total)


def _run_video(video: Path, config, out: Path | None, overlay: Path | None, json_path: Path | None) -> None:
    """Runs the video flow with a bar per stage, writes the outputs and prints the summary."""
    from motion_recon.io import write_json
    from motion_recon.result_file import write_result
    from pipelines.evaluate import summary
    from pipelines.video import reconstruct_video, render_overlay

    try:
        with Progress(TextColumn("[bold]{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:  # fmt: skip
            bars = _StageBars(progress)
            run = reconstruct_video(video, config, progress=bars)
            if out is not None:  # before the overlay: a rendering failure keeps the result
                write_result(out, run.result)
            if overlay is not None:
                render_overlay(overlay, video, run, progress=lambda done, total: bars("render", done, total))
    except (ValueError, FileNotFoundError, ImportError, RuntimeError) as err:
        fail(str(err))
    result, track = run.result, run.track
    console.print(video_line(video.name, run, config.person_index))
    for warning in run.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    rows = {f"physics ({config.optimizer})": summary(result), "kinematic (no physics)": run.kinematic}
    console.print(metrics_table("MPJPE-2d vs detections (px), TV (m/frame^2), foot skate (% of frames)", rows))
    console.print("seconds per stage: " + ", ".join(f"{k} {v:.1f}" for k, v in run.stage_s.items()))
    if out is not None:
        console.print(f"wrote {out}")
    if overlay is not None:
        console.print(f"wrote {overlay}")
    if json_path is not None:
        write_json(json_path, {"video": str(video), "optimizer": config.optimizer, "physics": summary(result),
                               "kinematic": run.kinematic, "stage_s": run.stage_s, "warnings": run.warnings,
                               "frames": len(track.found), "frames_with_person": int(track.found.sum())})  # fmt: skip
        console.print(f"wrote {json_path}")


def _video_config(optimizer, max_evals, start, end, max_frames, focal, person_index, keypoints, stopping, checkpoint, seed,
                  camera=None, residual_force=None, estimate_focal=False, basin_hopping=False, ground_contact=None,
                  feedforward=VideoConfig.feedforward):
    from dataclasses import replace

    loss = VIDEO_LOSS if residual_force is None else replace(VIDEO_LOSS, residual_force_weight=residual_force)
    if ground_contact is not None:
        loss = replace(loss, ground_contact_weight=ground_contact, ground_slide_weight=ground_contact)
    for option, value in (("residual-force", residual_force), ("ground-contact", ground_contact)):
        if value is not None and value < 0:
            fail(f"--{option} must be 0 (off) or positive, got {value:g}")
    return VideoConfig(
        loss=loss, optimizer=optimizer, max_evals=max_evals, start=start,
        end=end, max_frames=max_frames, focal=focal, estimate_focal=estimate_focal,
        person_index=person_index, keypoints=keypoints, stopping=stopping, basin_hopping=basin_hopping,
        checkpoint=checkpoint, seed=seed, camera=None if camera is None else str(camera), feedforward=feedforward,
    )




@app.command("video")
def video_command(
    video: Annotated[Path, typer.Argument(help="Video file (anything OpenCV reads: mp4, mov, avi, webm...).")],
    out: Annotated[Optional[Path], typer.Option(help="Result file (HDF5).")] = None,
    overlay: Annotated[Optional[Path], typer.Option(help="Overlay video (.mp4, H.264): detections and simulated motion.")] = None,
    optimizer: Annotated[str, typer.Option(help=VIDEO_OPTIMIZER_HELP)] = VideoConfig.optimizer,
    max_evals: Annotated[int, typer.Option(parser=integer("max-evals"), metavar="INTEGER", help="Function evaluations per window.")] = VideoConfig.max_evals,
    start: Annotated[float, typer.Option(parser=number("start"), metavar="NUMBER", help="Start time, seconds.")] = VideoConfig.start,
    end: Annotated[Optional[float], typer.Option(parser=number("end"), metavar="NUMBER", help="End time, seconds (default: the end).")] = None,
    max_frames: Annotated[Optional[int], typer.Option(parser=integer("max-frames"), metavar="INTEGER", help="At most this many video frames.")] = None,
    focal: Annotated[Optional[float], typer.Option(parser=number("focal"), metavar="NUMBER", help="Focal length, pixels (default: 60 degree field of view across the long side).")] = None,
    estimate_focal: Annotated[bool, typer.Option("--estimate-focal", help="Without --focal or --camera, estimate the focal length from the body's perspective.")] = False,
    camera: Annotated[Optional[str], typer.Option(help="Calibrated camera: OpenCV YAML, JSON (K, dist, R, t), Pose2Sim TOML (FILE#NAME for one of several), or a result file (.h5).")] = None,
    residual_force: Annotated[Optional[float], typer.Option(parser=number("residual-force"), metavar="NUMBER", help=f"Penalty weight of a residual root force (0: none; default: {VIDEO_LOSS.residual_force_weight:g}).")] = None,
    ground_contact: Annotated[Optional[float], typer.Option(parser=number("ground-contact"), metavar="NUMBER", help=f"Weight that holds an ankle the detections put on the ground there and in place (0: off, e.g. for stairs or a slope; default: {VIDEO_LOSS.ground_contact_weight:g}).")] = None,
    feedforward: Annotated[bool, typer.Option("--feedforward/--no-feedforward", help="PD targets lead the detected poses by the joints' damping time (0.1 s), so the joints do not lag the motion.")] = VideoConfig.feedforward,
    person_index: Annotated[int, typer.Option(parser=integer("person-index"), metavar="INTEGER", help="Which person: 0 the most prominent, 1 the next...")] = VideoConfig.person_index,
    keypoints: Annotated[Optional[Path], typer.Option(help="Precomputed 2D keypoints (COCO-style JSON or .npz); skips detection.")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the summary and metrics as JSON here.")] = None,
    stopping: Annotated[bool, typer.Option("--stopping", help="Stop a window early by the paper's rule (N = 5).")] = False,
    basin_hopping: Annotated[bool, typer.Option("--basin-hopping", help=BASIN_HOPPING_HELP)] = False,
    checkpoint: Annotated[Optional[str], typer.Option(help="Learned optimizer checkpoint folder.")] = None,
    seed: Annotated[int, typer.Option(parser=integer("seed"), metavar="INTEGER", help="Seed.")] = VideoConfig.seed,
) -> None:
    """Reconstruct the person in a video in physical simulation."""
    config = _video_config(optimizer, max_evals, start, end, max_frames, focal, person_index, keypoints, stopping,
                           checkpoint, seed, camera, residual_force, estimate_focal, basin_hopping, ground_contact,
                           feedforward)  # fmt: skip
    _run_video(video, config, out, overlay, json_path)


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option(help="Result file (HDF5).")] = Path("demo.h5"),
    overlay: Annotated[Path, typer.Option(help="Overlay video (.mp4).")] = Path("demo_overlay.mp4"),
    optimizer: Annotated[str, typer.Option(help=VIDEO_OPTIMIZER_HELP)] = VideoConfig.optimizer,
    max_evals: Annotated[int, typer.Option(parser=integer("max-evals"), metavar="INTEGER", help="Function evaluations per window.")] = VideoConfig.max_evals,
    end: Annotated[Optional[float], typer.Option(parser=number("end"), metavar="NUMBER", help="End time, seconds (default: the whole clip).")] = None,
    seed: Annotated[int, typer.Option(parser=integer("seed"), metavar="INTEGER", help="Seed.")] = VideoConfig.seed,
) -> None:
    """Run ``recon video`` on the bundled clip (data/samples/walk.mp4): writes demo.h5 and demo_overlay.mp4."""
    from motion_recon.paths import data_dir

    config = _video_config(optimizer, max_evals, 0.0, end, None, None, 0, None, False, None, seed)
    _run_video(data_dir() / "samples" / "walk.mp4", config, out, overlay, None)


@app.command("export")
def export_command(
    result_file: Annotated[Path, typer.Argument(help="A result file written by recon mocap / video / eval.")],
    to: Annotated[Path, typer.Option(help="File to write: .bvh (skeleton animation), .glb (animated body and floor), .npz or .csv (keypoints, contacts, root wrench).")],
    up: Annotated[str, typer.Option(help="BVH up axis: y (the BVH convention, Blender's importer default) or z.")] = "y",
    units: Annotated[str, typer.Option(help="BVH length unit: m or cm.")] = "m",
) -> None:
    """Write a result's simulated motion for other tools (Blender, MotionBuilder, spreadsheets)."""
    from motion_recon.result_file import read_result
    from pipelines.export import export

    try:
        path = export(read_result(result_file), to, up=up, units=units)
    except (ValueError, FileNotFoundError, OSError, ImportError) as err:
        fail(str(err))
    console.print(f"wrote {path}", soft_wrap=True)


@app.command("render")
def render_command(
    result_file: Annotated[Path, typer.Argument(help="A result file written by recon video / mocap / eval.")],
    out: Annotated[Path, typer.Option(help="Overlay video to write (.mp4, H.264).")],
    video: Annotated[Optional[Path], typer.Option(help="Video to draw over (default: the one the result was made from, if it is still there).")] = None,
    scene_only: Annotated[bool, typer.Option("--scene-only", help="The 3D scene alone, without the video.")] = False,
    side_by_side: Annotated[bool, typer.Option("--side-by-side", help="Beside the video, a 3D view of the body, floor and contacts.")] = False,
    first: Annotated[Optional[int], typer.Option(parser=integer("first"), metavar="INTEGER", help="Video frame the result starts at (default: from the result).")] = None,
) -> None:
    """Render a result as a video: the simulated body over the video frames with the observed 2D
    keypoints, or (mocap results, --scene-only) the 3D scene alone."""
    from motion_recon.result_file import read_result
    from pipelines.video import isolated
    from viewer.overlay import result_video, write_overlay

    try:
        result = read_result(result_file)
        source, start = (None, 0) if scene_only else result_video(result)
        if video is not None and not scene_only:
            if not video.is_file():
                raise FileNotFoundError(f"{video}: no such file")
            source = video
        start = first if first is not None else start
        with Progress(TextColumn("[bold]{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:  # fmt: skip
            bars = _StageBars(progress)
            frames = isolated(write_overlay, out, result, source, start, side_by_side,
                              progress=lambda done, total: bars("render", done, total))  # fmt: skip
    except (ValueError, FileNotFoundError, ImportError, RuntimeError) as err:
        fail(str(err))
    what = f"over {source} from frame {start}" if source is not None else "3D scene"
    console.print(f"wrote {out}: {frames} frames, {what}")


class EvalInput(str, Enum):
    """What ``recon eval`` reconstructs from."""

    mocap = "mocap"
    video = "video"


@app.command("eval")
def eval_command(
    dataset: Annotated[str, typer.Argument(help="h36m or aist.")],
    root: Annotated[Path, typer.Option(help="Dataset root (Human3.6M: holds S9/MyPoseFeatures/... and S9/Videos/; AIST++: holds keypoints3d/, and videos/ and cameras/ for video).")],
    split: Annotated[Optional[str], typer.Option(help="h36m: val (Table 6) or physcap (Table 2); aist: aist15 (Tables 3 and 5).")] = None,
    source: Annotated[EvalInput, typer.Option("--input", help="mocap: from the dataset's 3D joints (Table 1's experiment); video: from its videos, detected, with its calibrated cameras (Tables 2 and 3).")] = EvalInput.mocap,
    optimizer: Annotated[str, typer.Option(help=MOCAP_OPTIMIZER_HELP)] = MocapConfig.optimizer,
    max_evals: Annotated[Optional[int], typer.Option(parser=integer("max-evals"), metavar="INTEGER", help=f"Function evaluations per window (default: {MocapConfig.max_evals} from mocap, {VideoConfig.max_evals} from video).")] = None,
    stopping: Annotated[bool, typer.Option("--stopping", help="Stop a window early by the paper's rule (N = 5).")] = False,
    basin_hopping: Annotated[bool, typer.Option("--basin-hopping", help=BASIN_HOPPING_HELP)] = False,
    checkpoint: Annotated[Optional[str], typer.Option(help="Learned optimizer checkpoint folder.")] = None,
    limit: Annotated[Optional[int], typer.Option(parser=integer("limit"), metavar="INTEGER", help="Only the first N sequences.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Folder for one result file per sequence.")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write per-sequence and mean metrics as JSON here.")] = None,
    seed: Annotated[int, typer.Option(parser=integer("seed"), metavar="INTEGER", help="Seed.")] = MocapConfig.seed,
    ray: Annotated[Optional[str], typer.Option(help=RAY_HELP.format(what="sequences (one task each)"))] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Read back the sequences whose result files in --out were made with the same settings.")] = False,
    detections: Annotated[Optional[Path], typer.Option(help="From video: folder that keeps each sequence's detections, reused by later runs (default: DIR/detections with --out DIR).")] = None,
) -> None:
    """Evaluate on a protocol split and print the paper's Table 2 columns, mean and per sequence
    (from video, with the kinematic baseline's mean as a row); a sequence that failed is named
    after the table and makes the exit code 1."""
    from motion_recon.io import write_json
    from pipelines.evaluate import evaluate

    split = split or {"h36m": "val", "aist": "aist15"}.get(dataset)
    from_video = source is EvalInput.video
    try:
        if from_video:
            config = VideoConfig(optimizer=optimizer, max_evals=VideoConfig.max_evals if max_evals is None else max_evals,
                                 stopping=stopping, basin_hopping=basin_hopping, seed=seed, checkpoint=checkpoint)  # fmt: skip
        else:
            config = MocapConfig(optimizer=optimizer, max_evals=MocapConfig.max_evals if max_evals is None else max_evals,
                                 stopping=stopping, basin_hopping=basin_hopping, seed=seed, checkpoint=checkpoint)  # fmt: skip
        with Progress(
            TextColumn(f"[bold]eval {dataset} {split}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.description}"), console=console, transient=True,
        ) as progress:
            bar, log = progress.add_task("", total=None), _PipedLog()

            def report(name: str, done: int, total: int) -> None:
                progress.update(bar, completed=done, total=total, description=name)
                log("sequences", f"eval {dataset} {split}: {done}/{total} sequences done ({name})", done, total)

            evaluation = evaluate(dataset, root, str(split), config, out_dir=out, limit=limit,
                                  ray_address=ray, progress=report, resume=resume, detections=detections)  # fmt: skip
    except (ValueError, FileNotFoundError, ImportError) as err:
        fail(str(err))
    if resume:
        console.print(f"resumed {len(evaluation.resumed)} of {len(evaluation.rows) + len(evaluation.failures)} "
                      f"sequences from their result files in {out}", highlight=False, soft_wrap=True)  # fmt: skip
    rows = {f"{optimizer} (mean of {len(evaluation.rows)})": evaluation.mean}
    if from_video:
        rows[f"kinematic (mean of {len(evaluation.kinematic)})"] = evaluation.kinematic_mean
    rows.update(evaluation.rows)
    title = f"{dataset} {split}{' from video' if from_video else ''}: mm, px, m/frame^2, % of frames"
    console.print(metrics_table(title, rows))
    for name, error in evaluation.failures.items():
        console.print(f"[bold red]failed:[/] {escape(name)}: {escape(error)}", highlight=False, soft_wrap=True)
    if json_path is not None:
        write_json(json_path, evaluation.to_json())
        console.print(f"wrote {json_path}")
    if evaluation.failures:
        raise typer.Exit(1)


@app.command("report")
def report_command(
    result_files: Annotated[list[Path], typer.Argument(metavar="RESULT", help="Result files of recon mocap / video / eval.")],
    plots: Annotated[Optional[Path], typer.Option(help="Write loss, joint-error and contact plots (PNG) to this folder.")] = None,
) -> None:
    """Summarise result files: input, body, optimizer, per-window losses and metrics; --plots draws
    them (several files: compared in one figure each, e.g. optimizers on one sequence)."""
    from motion_recon.result_file import read_result
    from pipelines.evaluate import summary

    try:
        results = [read_result(path) for path in result_files]
    except (ValueError, FileNotFoundError) as err:
        fail(str(err))
    for index, result in enumerate(results):
        if index:
            console.print()
        for line in result_lines(result):
            console.print(line)
        console.print(metrics_table("metrics", {result.name: summary(result)}))
        console.print(made_by_line(result), soft_wrap=True)
    if plots is not None:
        from viewer.report_plots import write_report_plots

        try:
            written = write_report_plots(results, plots)
        except OSError as err:
            fail(str(err))
        for path in written:
            console.print(f"wrote {path}", soft_wrap=True)


@app.command("view")
def view_command(
    result_file: Annotated[Path, typer.Argument(help="A result file written by recon mocap / video / eval.")],
    host: Annotated[str, typer.Option(help="Address to serve on (0.0.0.0: every network interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(parser=integer("port"), metavar="INTEGER", help="Port (the next free one when taken).")] = 8080,
) -> None:
    """Open a result in an interactive 3D viewer in the browser (body, keypoints, contacts, losses)."""
    from viewer.interactive import serve

    try:
        serve(result_file, host=host, port=port)
    except (ValueError, FileNotFoundError, ImportError, RuntimeError) as err:
        fail(str(err))


def main() -> None:
    app()


@app.callback()
def _root() -> None:
    """Keeps ``recon`` a command group while it has few commands."""
