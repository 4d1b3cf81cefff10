"""The paper's Table 4 test-time operating modes on DiffPhy (its bottom rows): Optimus with the
stopping rule, with 50 fixed evaluations, and with basin hopping; Optimus at basin hopping's
budget without hops, BFGS and Adam at 50 evaluations for reference.

Motions: the test pool of ``pipelines/motion_pools.py`` (real clips and synthetic motions no
optimizer was meta-trained or tuned on), reconstructed window by window as ``recon mocap`` does.
Basin hopping draws its perturbations from the seed, so it runs once per ``--seeds``; the other
modes are deterministic and run once. Rows: MPJPE-G (mean over motions; for basin hopping the
spread over seeds of that mean), evaluations per window, wall time.

``--tune`` chooses basin hopping's perturbation (``pipelines.configs.BASIN_HOPPING``) on windows of
the *training* pool: the best loss relative to the start after the budget, per perturbation.

    python benchmarks/diffphy_modes.py [--optimus optimus@DIR] [--seeds 0,1,2] [--synthetic 6]
                                       [--jobs 1] [--name diffphy_modes_cpu]
    (finished runs are kept in results/NAME.runs.jsonl; a rerun goes on from there)
    python benchmarks/diffphy_modes.py --tune [--optimus optimus@DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import jax
import numpy as np

from diffphy import checkpoints, isolated, parse_optimizer, sequences
from motion_recon import optim
from motion_recon.diffphy.loss import loss_function
from motion_recon.io import write_json, write_text
from motion_recon.optim import Budget
from motion_recon.provenance import record
from pipelines.configs import BASIN_HOPPING, MocapConfig
from pipelines.mocap import diffphy_optimizer, reconstruct_motion
from pipelines.motion_pools import TEST_SYNTHETIC, mocap_training_family

RESULTS = Path(__file__).resolve().parent / "results"
BUDGET = 50  # the paper's fixed budget; basin hopping (and its control row) get twice as much
# label -> (optimizer, MocapConfig settings); "optimus" stands for --optimus
MODES = {
    "Optimus, stopping rule": ("optimus", {"max_evals": BUDGET, "stopping": True}),
    f"Optimus, {BUDGET} evaluations": ("optimus", {"max_evals": BUDGET}),
    "Optimus + basin hopping": ("optimus", {"max_evals": 2 * BUDGET, "basin_hopping": True}),
    f"Optimus, {2 * BUDGET} evaluations": ("optimus", {"max_evals": 2 * BUDGET}),
    f"BFGS, {BUDGET} evaluations": ("bfgs", {"max_evals": BUDGET}),
    f"Adam, {BUDGET} evaluations": ("adam", {"max_evals": BUDGET}),
}
STOCHASTIC = ("Optimus + basin hopping",)
# Table 4, bottom: MPJPE-G mm and function evaluations (Human3.6M validation mocap)
PAPER = {"Optimus, stopping rule": (33.1, 30.3), f"Optimus, {BUDGET} evaluations": (28.5, 50.0),
         "Optimus + basin hopping": (25.6, 82.3)}  # fmt: skip
PERTURBATIONS = (0.005, 0.01, 0.02, 0.05)


def run_mode(kind: str, sequence, mode: str, optimus: str, seed: int, checkpoint_sha256: str | None) -> dict:
    """One reconstruction of ``sequence`` in ``mode`` (a fresh process: see ``diffphy.isolated``);
    the row records the content hash of the checkpoint it used (None: a mode without one)."""
    started = time.perf_counter()
    name, settings = MODES[mode]
    optimizer, checkpoint = parse_optimizer(optimus if name == "optimus" else name)
    result = reconstruct_motion(sequence, MocapConfig(optimizer=optimizer, checkpoint=checkpoint, seed=seed, **settings))
    return {"sequence": sequence.name, "kind": kind, "mode": mode, "seed": seed, "checkpoint_sha256": checkpoint_sha256,
            **result.metrics,
            "evals_per_window": float(np.mean(result.windows["nfev"])), "windows": int(len(result.windows["nfev"])),
            "wall_s": time.perf_counter() - started, "cores": sorted(os.sched_getaffinity(0)), "environment": record()}  # fmt: skip


def reconstruct_all(optimus: str, sha256: str, seeds: list[int], synthetic: int, jobs: int, done_file: Path) -> list[dict]:
    """Every mode on every test motion, ``jobs`` reconstructions at a time, each in its own
    process. Each finished run is appended to ``done_file`` (JSON lines), and runs found there
    with the same checkpoint (content hash ``sha256``) are not run again: a stopped benchmark goes
    on where it stopped, and never mixes checkpoints."""
    def checkpoint_of(mode: str) -> str | None:
        return sha256 if MODES[mode][0] == "optimus" else None

    found = [json.loads(line) for line in done_file.read_text().splitlines()] if done_file.exists() else []
    done = [r for r in found if r.get("checkpoint_sha256") == checkpoint_of(r["mode"])]
    finished = {(r["sequence"], r["mode"], r["seed"]) for r in done}
    runs = [(kind, sequence, mode, optimus, seed, checkpoint_of(mode))
            for kind, sequence in isolated(sequences, synthetic, 40)
            for mode in MODES for seed in (seeds if mode in STOCHASTIC else seeds[:1])
            if (sequence.name, mode, seed) not in finished]  # fmt: skip
    print(f"{len(done)} runs read back from {done_file} ({len(found) - len(done)} of another checkpoint set "
          f"aside), {len(runs)} to go", flush=True)  # fmt: skip
    context, cores = multiprocessing.get_context("spawn"), sorted(os.sched_getaffinity(0))
    rows = done
    # one single-worker pool per core, the worker pinned to it: unpinned, each process's XLA
    # thread pool spans every core and two runs side by side took 3-4x their time alone
    pools = [ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=1, initializer=os.sched_setaffinity,
                                 initargs=(0, {cores[k % len(cores)]})) for k in range(jobs)]  # fmt: skip
    with contextlib.ExitStack() as stack:
        for pool in pools:
            stack.enter_context(pool)
        futures = [pools[k % jobs].submit(run_mode, *run) for k, run in enumerate(runs)]
        for future in as_completed(futures):
            row = future.result()
            rows.append(row)
            with done_file.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{row['sequence']:15s} {row['mode']:28s} seed {row['seed']}  MPJPE-G {row['mpjpe_g']:.2f} mm  "
                  f"evals/window {row['evals_per_window']:.1f}  {row['wall_s']:.0f} s", flush=True)  # fmt: skip
    return rows


def summarise(rows: list[dict]) -> dict:
    """Per mode: MPJPE-G per motion (mean over seeds), its mean over all / real / synthetic motions,
    the spread over seeds of the all-motion mean, evaluations per window and wall time."""
    out = {}
    for mode in MODES:
        mine = [r for r in rows if r["mode"] == mode]
        seeds = sorted({r["seed"] for r in mine})
        per_seed = [np.mean([r["mpjpe_g"] for r in mine if r["seed"] == s]) for s in seeds]
        motions = {r["sequence"]: r["kind"] for r in mine}
        per_motion = {name: float(np.mean([r["mpjpe_g"] for r in mine if r["sequence"] == name])) for name in motions}
        out[mode] = {
            "mpjpe_g": float(np.mean(per_seed)), "mpjpe_g_std_over_seeds": float(np.std(per_seed)), "seeds": seeds,
            **{f"mpjpe_g_{kind}": float(np.mean([v for n, v in per_motion.items() if motions[n] == kind]))
               for kind in ("real", "synthetic") if kind in motions.values()},
            "evals_per_window": float(np.mean([r["evals_per_window"] for r in mine])),
            "wall_s": float(np.mean([r["wall_s"] for r in mine])), "per_motion": per_motion,
        }  # fmt: skip
    return out


def markdown(summary: dict) -> str:
    lines = ["| mode | MPJPE-G mm, all (spread over seeds) | real | synthetic | evals/window | wall s | paper: MPJPE-G mm / evals |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for mode, entry in summary.items():
        spread = f" ± {entry['mpjpe_g_std_over_seeds']:.2f} ({len(entry['seeds'])} seeds)" if len(entry["seeds"]) > 1 else ""
        paper = PAPER.get(mode)
        kinds = " | ".join(f"{entry[key]:.2f}" if key in entry else "-" for key in ("mpjpe_g_real", "mpjpe_g_synthetic"))
        lines.append(f"| {mode} | {entry['mpjpe_g']:.2f}{spread} | {kinds} | "
                     f"{entry['evals_per_window']:.1f} | {entry['wall_s']:.0f} | {'-' if paper is None else f'{paper[0]} / {paper[1]}'} |")  # fmt: skip
    motions = list(next(iter(summary.values()))["per_motion"])
    lines += ["", "| motion | " + " | ".join(summary) + " |", "|---|" + "---|" * len(summary)]
    for name in motions:
        lines.append(f"| {name} | " + " | ".join(f"{entry['per_motion'][name]:.2f}" for entry in summary.values()) + " |")
    return "\n".join(lines) + "\n"


def tune_traces(optimus: str, windows: int, budget: int) -> dict:
    """Best loss / start loss on ``windows`` training-pool windows: Optimus for ``budget``
    evaluations without hops, and with basin hopping at each of ``PERTURBATIONS``."""
    family = mocap_training_family()
    chosen = np.random.default_rng(0).choice(family.size, size=min(windows, family.size), replace=False)
    loss, dim = loss_function(family.sim, family.config), family.dim
    inner = diffphy_optimizer(*parse_optimizer(optimus))
    candidates = {"no hops": inner} | {
        f"perturbation {p:g}": optim.BasinHopping(inner, hop_every=BASIN_HOPPING["hop_every"], perturbation=p)
        for p in PERTURBATIONS
    }  # fmt: skip
    relative = {label: [] for label in candidates}
    for k, index in enumerate(chosen):
        data = jax.tree.map(lambda leaf, i=index: leaf[i], family.pool)
        for label, optimizer in candidates.items():
            res = optimizer.minimize(loss, np.zeros(dim, np.float32), budget=Budget(evaluations=budget),
                                     args=(data,), key=jax.random.key(k))  # fmt: skip
            relative[label].append(float(res.fun_best / res.losses[0]))
        print(f"window {k + 1}/{len(chosen)}: " + "  ".join(f"{lab} {v[-1]:.4f}" for lab, v in relative.items()), flush=True)
    return {"windows": [int(i) for i in chosen], "best_over_start": relative,
            "median": {label: float(np.median(v)) for label, v in relative.items()}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimus", default="optimus@data/checkpoints/optimus-diffphy-pool", help="Optimus and its checkpoint")
    parser.add_argument("--seeds", default="0,1,2", help="seeds of basin hopping")
    parser.add_argument("--synthetic", type=int, default=len(TEST_SYNTHETIC), help="synthetic test motions")
    parser.add_argument("--jobs", type=int, default=1, help="reconstructions at a time")
    parser.add_argument("--tune", action="store_true", help="choose the perturbation on training-pool windows")
    parser.add_argument("--windows", type=int, default=12, help="training windows of --tune")
    parser.add_argument("--name", default=None, help="result name (default diffphy_modes_cpu, or diffphy_modes_tuning_cpu)")
    args = parser.parse_args()
    provenance = {"environment": record(), "settings": vars(args), "checkpoints": checkpoints([args.optimus]),
                  "basin_hopping": BASIN_HOPPING}  # fmt: skip
    if args.tune:
        name = args.name or "diffphy_modes_tuning_cpu"
        traces = isolated(tune_traces, args.optimus, args.windows, 2 * BUDGET)
        table = "| Optimus, 100 evaluations | median best / start loss |\n|---|---|\n" + "".join(
            f"| {label} | {value:.4f} |\n" for label, value in traces["median"].items())
        write_json(RESULTS / f"{name}.json", {**provenance, **traces})
    else:
        name = args.name or "diffphy_modes_cpu"
        seeds = [int(s) for s in args.seeds.split(",")]
        sha256 = provenance["checkpoints"][args.optimus]["sha256"]
        rows = reconstruct_all(args.optimus, sha256, seeds, args.synthetic, args.jobs, RESULTS / f"{name}.runs.jsonl")
        summary = summarise(rows)
        table = markdown(summary)
        write_json(RESULTS / f"{name}.json", {**provenance, "modes": {m: [o, s] for m, (o, s) in MODES.items()},
                                                "summary": summary, "sequences": rows,
                                                "loss": dataclasses.asdict(MocapConfig().loss)})  # fmt: skip
    print("\n" + table)
    write_text(RESULTS / f"{name}.md", table)
    print(f"wrote {RESULTS / name}.json and .md")


if __name__ == "__main__":
    main()
