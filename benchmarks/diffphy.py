"""DiffPhy reconstruction from mocap with each optimizer (the paper's Table 1 layout and Fig. 6),
on the test pool of ``pipelines/motion_pools.py`` only: motions no optimizer was meta-trained or
tuned on.

Part 1, sequences: the test pool's real clips and synthetic physically valid motions (each on its
own body) are reconstructed window by window with BFGS, Optimus, Adafactor-MLP and Adam at a
budget of ``--max-evals`` evaluations per window: MPJPE-G, MPJPE-PA, foot skate, TV, evaluations
per window, wall time.

Part 2, fixed windows: every optimizer minimises the same windows of the test pool (start states
from IK or from the synthetic simulation), so loss curves compare directly: the final loss
relative to u = 0, and the evaluations Optimus needs to reach BFGS's final loss as a fraction of
BFGS's, and the evaluations every other optimizer needs to reach Adam's final loss. Learned
optimizers are recorded with their checkpoint's path and content hash.

Part 3, video-style windows: the same on windows of the test pool's video-style windows (its
motions through virtual cameras by a virtual detector, scored with ``recon video``'s loss;
``pipelines.motion_pools.video_test_family``). ``--windows-only`` runs parts 2 and 3 alone: the
quick held-out check of a campaign checkpoint. ``--feedforward`` makes the PD targets of parts 1
and 2 lead the kinematic poses by the joints' damping time (``MocapConfig.feedforward``).

Seeds (``--seeds``): seed 0 takes the motions as they are; seed k > 0 moves every keypoint by
``NOISE_M`` of Gaussian noise (the same for every optimizer), so the spread over seeds shows
whether a result hangs on differences that small. Every reconstruction is kept in
``results/diffphy_runs/`` (keyed by motion, optimizer, checkpoint content hash, budget and seed)
and read back by a later run, so a long run goes on from where it was stopped.

An optimizer is a name or ``name@checkpoint-folder`` (a learned optimizer with another checkpoint
than the shipped one, e.g. ``optimus@data/checkpoints/optimus-diffphy-walk``, trained without the
dance clip).

    python benchmarks/diffphy.py [--optimizers bfgs,optimus,adafactor-mlp,adam] [--max-evals 50]
                                 [--seeds 0,1,2] [--synthetic 6] [--windows 24] [--windows-only] [--feedforward]
                                 [--name diffphy_cpu]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import jax
import numpy as np

from motion_recon.configs import DEFAULT_LOSS
from motion_recon.diffphy.loss import loss_function
from motion_recon.provenance import record
from motion_recon.io import write_json, write_text
from motion_recon.optim import Budget
from motion_recon.optim.checkpoint import checkpoint_hash
from pipelines.configs import MocapConfig
from pipelines.mocap import diffphy_optimizer, reconstruct_motion
from pipelines.motion_pools import TEST_CLIPS, TEST_SYNTHETIC, clip, synthetic, test_family, video_test_family

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = RESULTS / "diffphy_runs"
NOISE_M = 0.001  # seeds k > 0: Gaussian noise on every keypoint, metres
COLUMNS = ("mpjpe_g", "mpjpe_pa", "foot_skate", "tv", "evals_per_window", "wall_s")


def sequences(count: int, frames: int):
    """The test pool's real clips and its first ``count`` synthetic motions."""
    made = [synthetic(seed, frames)[2] for seed in TEST_SYNTHETIC[:count]]
    return [("real", clip(name)) for name in TEST_CLIPS] + [("synthetic", s) for s in made]


def isolated(fn, *args):
    """``fn(*args)`` in a fresh process: compiled MJX programs of several bodies and optimizers
    would otherwise accumulate in one process (this machine's 23 GB were exhausted after eight runs)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(fn, *args).result()


def parse_optimizer(spec: str) -> tuple[str, str | None]:
    """``name`` or ``name@checkpoint-folder`` -> (name, checkpoint or None)."""
    name, _, checkpoint = spec.partition("@")
    return name, checkpoint or None


def checkpoints(optimizers) -> dict:
    """Path and content hash of every learned optimizer's checkpoint."""
    found = {}
    for spec in optimizers:
        source = getattr(diffphy_optimizer(*parse_optimizer(spec)), "source", None)
        if source is not None and Path(source).is_dir():
            found[spec] = {"path": source, "sha256": checkpoint_hash(source)}
    return found


def jittered(sequence, seed: int):
    """``sequence`` as it is (seed 0) or with ``NOISE_M`` of Gaussian noise on every keypoint."""
    if seed == 0:
        return sequence
    noise = np.random.default_rng([seed, 11]).normal(0.0, NOISE_M, np.shape(sequence.keypoints))
    return replace(sequence, keypoints=np.asarray(sequence.keypoints) + noise.astype(np.asarray(sequence.keypoints).dtype))


def reconstruct_one(kind: str, sequence, name: str, max_evals: int, seed: int, feedforward: bool) -> dict:
    start = time.perf_counter()
    optimizer, checkpoint = parse_optimizer(name)
    config = MocapConfig(optimizer=optimizer, max_evals=max_evals, checkpoint=checkpoint, seed=seed, feedforward=feedforward)
    result = reconstruct_motion(jittered(sequence, seed), config)
    return {"sequence": sequence.name, "kind": kind, "optimizer": name, "seed": seed, **result.metrics,
            "evals_per_window": float(np.mean(result.windows["nfev"])), "wall_s": time.perf_counter() - start,
            "windows": int(len(result.windows["nfev"])), "loss": DEFAULT_LOSS.__dict__, "feedforward": feedforward,
            "environment": record()}  # fmt: skip


def run_path(sequence: str, name: str, hashes: dict, max_evals: int, seed: int, feedforward: bool) -> Path:
    """Where one reconstruction is kept: the optimizer by name and, if learned, checkpoint hash."""
    optimizer = parse_optimizer(name)[0] + (f"-{hashes[name]['sha256'][:12]}" if name in hashes else "")
    return RUNS / f"{sequence}_{optimizer}_{max_evals}evals{'_feedforward' if feedforward else ''}_seed{seed}.json"


def reconstruct_all(optimizers, max_evals: int, synthetic: int, frames: int, seeds, hashes: dict,
                    feedforward: bool) -> list[dict]:  # fmt: skip
    rows, motions = [], isolated(sequences, synthetic, frames)
    for seed in seeds:
        for kind, sequence in motions:
            for name in optimizers:
                path = run_path(sequence.name, name, hashes, max_evals, seed, feedforward)
                if not path.exists():
                    write_json(path, isolated(reconstruct_one, kind, sequence, name, max_evals, seed, feedforward))
                row = {**json.loads(path.read_text()), "optimizer": name}
                if row["loss"] != DEFAULT_LOSS.__dict__:
                    raise SystemExit(f"{path}: made with another loss ({row['loss']}); move it away to rerun")
                rows.append(row)
                print(f"{sequence.name:14s} {name:14s} seed {seed} " + "  ".join(f"{k} {row[k]:.2f}" for k in COLUMNS), flush=True)
    return rows


POOLS = {"mocap": test_family, "video": video_test_family}


def window_traces(name: str, max_evals: int, count: int, pool: str, feedforward: bool) -> tuple[list[int], list[dict]]:
    """Loss traces of optimizer ``name`` on ``count`` windows of the test pool's ``pool``
    windows (``POOLS``; the same windows for every optimizer: the pool and the choice are seeded;
    ``feedforward``: the mocap windows' references lead the poses)."""
    family = POOLS[pool](feedforward) if pool == "mocap" else POOLS[pool]()
    chosen = np.random.default_rng(0).choice(family.size, size=min(count, family.size), replace=False)
    loss, dim = loss_function(family.sim, family.config), family.dim
    optimizer, traces = diffphy_optimizer(*parse_optimizer(name)), []
    for k, index in enumerate(chosen):
        data = jax.tree.map(lambda leaf, i=index: leaf[i], family.pool)
        res = optimizer.minimize(loss, np.zeros(dim, np.float32), budget=Budget(evaluations=max_evals),
                                 args=(data,), key=jax.random.key(k))  # fmt: skip
        traces.append({"losses": np.asarray(res.losses).tolist(), "nfev": int(res.nfev)})
    return [int(i) for i in chosen], traces


def fixed_windows(optimizers, max_evals: int, count: int, pool: str, feedforward: bool) -> dict:
    """Loss traces of every optimizer on the same ``count`` windows of ``pool``, and their summary."""
    traces = {}
    for name in optimizers:
        chosen, traces[name] = isolated(window_traces, name, max_evals, count, pool, feedforward)
    return {"windows": chosen, "traces": traces, "summary": summarise(traces)}


def summarise(traces: dict) -> dict:
    """Per optimizer: median final loss relative to the start; for learned optimizers and Adam
    (one evaluation per iterate), the evaluations to reach BFGS's final loss over BFGS's own; for
    every other optimizer, the evaluations to reach Adam's final loss (median over the windows,
    infinite where never reached: the meta-training issue's bar is <= 25 of Adam's 50)."""
    out = {}
    by_name = {parse_optimizer(spec)[0]: spec for spec in traces}
    bfgs, adam = traces.get(by_name.get("bfgs")), traces.get(by_name.get("adam"))
    for spec, runs in traces.items():
        name = parse_optimizer(spec)[0]
        relative = [min(r["losses"]) / r["losses"][0] for r in runs]
        entry = {"median_final_over_start": float(np.median(relative))}
        if bfgs is not None and name != "bfgs":
            reached = evaluations_to_reach(runs, bfgs)
            ratios = [k / reference["nfev"] for k, reference in zip(reached, bfgs, strict=True)]
            entry["evals_to_bfgs_loss_over_bfgs_evals_median"] = float(np.median(ratios))
            entry["windows_reaching_bfgs_loss"] = float(np.mean(np.isfinite(ratios)))
        if adam is not None and name != "adam":
            reached = evaluations_to_reach(runs, adam)
            entry["evals_to_adam_loss_median"] = float(np.median(reached))
            entry["windows_reaching_adam_loss"] = float(np.mean(np.isfinite(reached)))
        out[spec] = entry
    return out


def evaluations_to_reach(runs: list[dict], references: list[dict]) -> list[float]:
    """Per window, the evaluations after which a run's loss first is at or below the reference
    run's best loss (infinite when never); one evaluation per loss, as for learned optimizers and Adam."""
    reached = []
    for run, reference in zip(runs, references, strict=True):
        hits = [k for k, value in enumerate(run["losses"]) if value <= min(reference["losses"])]
        reached.append(float(hits[0] + 1) if hits else float("inf"))
    return reached


def _mean_and_spread(rows: list[dict], column: str) -> str:
    """The mean of ``column`` over ``rows``; with several seeds, ± the standard deviation over
    seeds of the per-seed means."""
    seeds = sorted({r["seed"] for r in rows})
    per_seed = [np.mean([r[column] for r in rows if r["seed"] == s]) for s in seeds]
    return f"{np.mean(per_seed):.2f}" + (f" ± {np.std(per_seed):.2f}" if len(seeds) > 1 else "")


def markdown(rows: list[dict], optimizers, fixed: dict, video: dict) -> str:
    """The Table 1 layout (mean per input kind and optimizer, ± the spread over seeds), the
    per-sequence rows and the summaries of the fixed mocap and video-style windows, as markdown."""
    header = "| input | optimizer | MPJPE-G mm | MPJPE-PA mm | foot skate % | TV | evals/window | wall s |"
    lines = [header, "|" + "---|" * 8] if rows else []
    groups = [(kind, [r for r in rows if r["kind"] == kind]) for kind in ("real", "synthetic")]
    groups += [(r["sequence"], [r2 for r2 in rows if r2["sequence"] == r["sequence"]])
               for r in rows if r["optimizer"] == optimizers[0]]  # fmt: skip
    for label, members in groups:
        for name in optimizers:
            mine = [r for r in members if r["optimizer"] == name]
            if mine:
                lines.append(f"| {label} | {name} | " + " | ".join(_mean_and_spread(mine, c) for c in COLUMNS) + " |")
    for title, windows in (("fixed windows", fixed), ("video-style windows", video)):
        lines += ["", f"| {title} | median final / start loss | evals to BFGS's final loss / BFGS's evals (median) "
                  "| windows reaching it | evals to Adam's final loss (median) | windows reaching it |", "|---|---|---|---|---|---|"]  # fmt: skip
        for name, entry in windows["summary"].items():
            cells = [entry.get(key) for key in ("evals_to_bfgs_loss_over_bfgs_evals_median", "windows_reaching_bfgs_loss",
                                                "evals_to_adam_loss_median", "windows_reaching_adam_loss")]  # fmt: skip
            formats = ("{:.2f}", "{:.0%}", "{:.0f}", "{:.0%}")
            lines.append(f"| {name} | {entry['median_final_over_start']:.3f} | "
                         + " | ".join("-" if v is None else f.format(v) for v, f in zip(cells, formats, strict=True)) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizers", default="bfgs,optimus,adafactor-mlp,adam")
    parser.add_argument("--max-evals", type=int, default=50)
    parser.add_argument("--seeds", default="0", help="comma-separated; k > 0 jitters the keypoints by NOISE_M")
    parser.add_argument("--synthetic", type=int, default=len(TEST_SYNTHETIC), help="synthetic sequences")
    parser.add_argument("--frames", type=int, default=40, help="frames per synthetic sequence")
    parser.add_argument("--windows", type=int, default=24, help="fixed windows in parts 2 and 3")
    parser.add_argument("--windows-only", action="store_true", help="parts 2 and 3 only (no sequences)")
    parser.add_argument("--feedforward", action="store_true",
                        help="PD targets lead the poses by the damping time (MocapConfig.feedforward)")
    parser.add_argument("--name", default="diffphy_cpu")
    args = parser.parse_args()
    optimizers = [o.strip() for o in args.optimizers.split(",") if o.strip()]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    hashes = checkpoints(optimizers)
    rows = [] if args.windows_only else reconstruct_all(optimizers, args.max_evals, args.synthetic, args.frames, seeds,
                                                        hashes, args.feedforward)  # fmt: skip
    fixed = fixed_windows(optimizers, args.max_evals, args.windows, "mocap", args.feedforward)
    video = fixed_windows(optimizers, args.max_evals, args.windows, "video", args.feedforward)
    table = markdown(rows, optimizers, fixed, video)
    print("\n" + table)
    path = RESULTS / f"{args.name}.json"
    write_json(path, {"environment": record(), "settings": vars(args), "checkpoints": hashes,
                      "sequences": rows, "fixed_windows": fixed, "video_windows": video,
                      "loss": DEFAULT_LOSS.__dict__})  # fmt: skip
    write_text(path.with_suffix(".md"), table)
    print(f"wrote {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
