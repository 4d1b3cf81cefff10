"""What a new person costs: compilation and tracing per body, and one window's value and gradient,
for this checkout and an earlier commit, measured in one run on this machine.

Each measurement runs in a fresh Python process whose imports come from the code tree under test
(this checkout, and ``--before REV`` checked out as a git worktree), with a JAX persistent
compilation cache of its own:

1. a new person with a warm cache: one process reconstructs the first window of the walk clip as
   recorded (1.62 m), then a second process the first window of the same clip scaled to 1.85 m.
   Reported: the second process's time to its first window (imports included) and its seconds
   of JAX tracing and XLA compilation.
2. four people in one process, as ``recon eval`` runs them: four clips scaled to four heights,
   16 frames each (two windows), reconstructed one after another; per sequence the tracing and
   compilation seconds and the wall time.
3. one window's value and gradient (10 frames, the loss the optimizers call, as the pipelines
   call it), the median of 20 calls after compilation.

    python benchmarks/startup.py [--before c6f4f54] [--name startup_cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PEOPLE = (("mocap_walk.npz", 1.55), ("mocap_dance.npz", 1.7), ("mocap_dance_a.npz", 1.85), ("mocap_spinkick.npz", 1.95))


# -- measurements, run in a worker process on the code tree under test -----------------------------


def _clip(name: str, height: float | None, frames: int):
    """A bundled clip (read from this checkout's data) scaled to ``height`` m, first ``frames`` frames."""
    from dataclasses import replace

    import numpy as np
    from body_models.shape import estimate_shape
    from motion_recon.datasets.arrays import read_npz

    sequence = read_npz(ROOT / "data" / "samples" / name)
    factor = 1.0 if height is None else height / estimate_shape(sequence.keypoints).height
    return replace(sequence, keypoints=np.asarray(sequence.keypoints[:frames]) * factor)


class _CompileClock:
    """Seconds JAX spends tracing to jaxprs and XLA spends compiling, from JAX's monitoring events."""

    def __init__(self):
        import jax

        self.tracing = self.compiling = 0.0
        jax.monitoring.register_event_duration_secs_listener(self._record)

    def _record(self, event: str, seconds: float, **_):
        if event == "/jax/core/compile/jaxpr_trace_duration":
            self.tracing += seconds
        elif event == "/jax/core/compile/backend_compile_duration":
            self.compiling += seconds

    def read(self) -> tuple[float, float]:
        return self.tracing, self.compiling


def _reconstruct(sequence) -> float:
    from pipelines.mocap import MocapConfig, reconstruct_motion

    start = time.perf_counter()
    reconstruct_motion(sequence, MocapConfig(optimizer="adam", max_evals=50))
    return time.perf_counter() - start


def first_window(height: float | None) -> dict:
    """Measurement 1, one process: the walk's first window (11 frames) at ``height``."""
    clock = _CompileClock()
    wall = _reconstruct(_clip("mocap_walk.npz", height, 11))
    tracing, compiling = clock.read()
    return {"height_m": height, "reconstruct_s": wall, "tracing_s": tracing, "compiling_s": compiling}


def four_people() -> list[dict]:
    """Measurement 2, one process: the four ``PEOPLE`` one after another."""
    clock, rows = _CompileClock(), []
    for name, height in PEOPLE:
        before = clock.read()
        wall = _reconstruct(_clip(name, height, 16))
        after = clock.read()
        rows.append({"clip": name, "height_m": height, "wall_s": wall,
                     "tracing_s": after[0] - before[0], "compiling_s": after[1] - before[1]})  # fmt: skip
    return rows


def value_and_gradient(repeats: int = 20) -> dict:
    """Measurement 3: the median time of one window's loss value and gradient."""
    import jax
    import numpy as np
    from motion_recon import physics
    from motion_recon.diffphy.loss import LossConfig, WindowData, loss_function  # LossConfig: here in every tree
    import body_models

    # before the body fit was a module of its own; not an ImportError, which the editable install's
    # finder would answer with this checkout's body_models/fit.py
    if (Path(body_models.__file__).parent / "fit.py").is_file():
        from body_models.fit import initialise
    else:
        from pipelines.mocap import initialise
    from body_models.model_files import physics_model

    window = LossConfig().window
    init = initialise(_clip("mocap_walk.npz", None, 32), window)
    sim = physics.simulator(physics_model(init.humanoid))
    span = slice(0, window + 1)
    arrays = [np.asarray(a, np.float32) for a in (init.qpos[0], init.qvel[0], init.reference[span], init.lifted[span],
                                                  np.ones(init.lifted[span].shape[:2]))]  # fmt: skip
    shared = getattr(sim, "shared", None)  # the body is an argument (this checkout) or a constant (before)
    data = WindowData(sim.body, *arrays) if shared is not None else WindowData(*arrays)
    step = jax.jit(jax.value_and_grad(loss_function(shared or sim, LossConfig())))
    u = np.zeros((window + 1, init.reference.shape[1], 3), np.float32).ravel() + 0.01
    jax.block_until_ready(step(u, data))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(step(u, data))
        times.append(time.perf_counter() - start)
    return {"window_frames": window, "median_s": float(np.median(times)), "min_s": float(np.min(times))}


WORKERS = {"first-window": lambda arg: first_window(None if arg == "none" else float(arg)),
           "four-people": lambda arg: four_people(), "value-and-gradient": lambda arg: value_and_gradient()}


# -- the driver ----------------------------------------------------------------------------------


def run_worker(tree: Path, cache: Path, task: str, arg: str = "") -> tuple[object, float]:
    """(result, process wall seconds) of ``task`` run on the code in ``tree`` with the cache ``cache``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "MOTION_RECON_CACHE": str(cache)}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--worker", task, arg], env=env, cwd=tree, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1]), time.perf_counter() - start


def measure(tree: Path) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder)
        first, first_process_s = run_worker(tree, cache, "first-window", "none")
        second, second_process_s = run_worker(tree, cache, "first-window", "1.85")
        people, _ = run_worker(tree, cache, "four-people")
        gradient, _ = run_worker(tree, cache, "value-and-gradient")
    return {"first_person": {**first, "process_s": first_process_s},
            "second_person": {**second, "process_s": second_process_s},
            "four_people": people, "value_and_gradient": gradient}  # fmt: skip


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def markdown(runs: dict) -> str:
    names = list(runs)
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]

    def row(label, fn):
        lines.append(f"| {label} | " + " | ".join(fn(runs[n]) for n in names) + " |")

    row("1st person, 1st window: process s (tracing + compiling s)",
        lambda r: f"{r['first_person']['process_s']:.1f} ({r['first_person']['tracing_s']:.1f} + {r['first_person']['compiling_s']:.1f})")
    row("2nd person, warm cache: process s to its 1st window (tracing + compiling s)",
        lambda r: f"{r['second_person']['process_s']:.1f} ({r['second_person']['tracing_s']:.1f} + {r['second_person']['compiling_s']:.1f})")
    for k, (name, height) in enumerate(PEOPLE):
        row(f"eval, person {k + 1} ({name[6:-4]}, {height} m): wall s (tracing + compiling s)",
            lambda r, k=k: f"{r['four_people'][k]['wall_s']:.1f} ({r['four_people'][k]['tracing_s']:.1f} + {r['four_people'][k]['compiling_s']:.1f})")
    row("one window's value and gradient, median ms", lambda r: f"{1000 * r['value_and_gradient']['median_s']:.0f}")
    first, last = runs[names[0]], runs[names[-1]]
    ratio = first["value_and_gradient"]["median_s"] / last["value_and_gradient"]["median_s"]
    return "\n".join(lines) + f"\n\nValue-and-gradient throughput, {names[-1]} over {names[0]}: {ratio:.2f}x\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="c6f4f54", help="the earlier commit to compare with")
    parser.add_argument("--name", default="startup_cpu")
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        task, arg = args.worker
        print(json.dumps(WORKERS[task](arg)))
        return
    from motion_recon.provenance import record
    from motion_recon.io import write_json, write_text

    with tempfile.TemporaryDirectory() as folder:
        before = Path(folder) / "before"
        git("worktree", "add", "--detach", str(before), args.before)
        try:
            runs = {f"before ({args.before})": measure(before), f"this checkout ({git('rev-parse', '--short', 'HEAD')})": measure(ROOT)}
        finally:
            git("worktree", "remove", "--force", str(before))
    table = markdown(runs)
    print(table)
    write_json(RESULTS / f"{args.name}.json", {"environment": record(), "settings": vars(args), "people": PEOPLE, "runs": runs})
    write_text(RESULTS / f"{args.name}.md", f"# Startup and per-body cost ({os.cpu_count()} CPU cores)\n\n" + table)


if __name__ == "__main__":
    main()
