"""The README's benchmark tables and the numbers quoted beside them equal the committed result
files in benchmarks/results/, at the precision the README prints.

A table row is checked cell by cell: the numbers printed in a cell (bold and units aside) are
compared with the values computed from the result file, each formatted with as many decimals as
the README prints. Sentences are checked by formatting the expected phrase from the result file
and finding it in the README. A number with no result file behind it is not checked here (the
module's tests name what they cover).
"""

import json
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
RESULTS = ROOT / "benchmarks" / "results"
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


def result(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def table(header: str) -> list[list[str]]:
    """The cells of each row of the README table whose header line starts with ``header``."""
    lines = README.splitlines()
    starts = [k for k, line in enumerate(lines) if line.startswith(header)]
    assert len(starts) == 1, f"{len(starts)} README tables start with {header!r}"
    rows = []
    for line in lines[starts[0] + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])])  # "\|" is a | inside a cell
    return rows


def row(rows: list[list[str]], start: str) -> list[str]:
    """The cells after the first of the one row whose first cell starts with ``start``."""
    found = [cells[1:] for cells in rows if cells[0].startswith(start)]
    assert len(found) == 1, f"{len(found)} rows start with {start!r}"
    return found[0]


def printed(text: str) -> list[str]:
    return [n.replace(",", "") for n in NUMBER.findall(text.replace("**", ""))]


def as_printed(value: float, text: str) -> str:
    """``value`` written as the README wrote ``text``: as many decimals, or the same exponent form."""
    if "e" in text:
        mantissa = text.split("e")[0]
        digits = len(mantissa.split(".")[1]) if "." in mantissa else 0
        m, e = f"{value:.{digits}e}".split("e")
        return f"{m}e{int(e)}"
    digits = len(text.split(".")[1]) if "." in text else 0
    return f"{value:.{digits}f}"


def assert_cells(cells: list[str], expected: list[float]) -> None:
    """The numbers printed in ``cells`` (in order) are ``expected`` at the printed precision."""
    numbers = printed(" ".join(cells))
    assert len(numbers) == len(expected), f"{cells} print {numbers}, expected {len(expected)} numbers"
    for text, value in zip(numbers, expected, strict=True):
        assert text == as_printed(value, text), f"README prints {text} where the result file gives {value} ({cells})"


def assert_quoted(*phrases: str) -> None:
    for phrase in phrases:
        assert phrase in " ".join(README.split()), f"README does not say {phrase!r}"


def test_the_diffphy_table_and_its_sentences_match_diffphy_cpu_and_diffphy_heldout_cpu():
    cpu, heldout = result("diffphy_cpu.json"), result("diffphy_heldout_cpu.json")
    walk_only = "optimus@data/checkpoints/optimus-diffphy-walk"

    def expected(run: dict, optimizer: str, reaching: bool) -> list[float]:
        errors = {s["sequence"]: s["mpjpe_g"] for s in run["sequences"] if s["optimizer"] == optimizer}
        fixed = run["fixed_windows"]["summary"][optimizer]
        values = [errors["mocap_walk"], errors["mocap_dance"], errors["synthetic_0"], fixed["median_final_over_start"]]
        if reaching:
            values += [100.0 * fixed["windows_reaching_bfgs_loss"], fixed["evals_to_bfgs_loss_over_bfgs_evals_median"]]
        return values

    rows = table("| optimizer | walk (real) | dance (real) | synthetic | fixed windows")
    assert len(rows) == 5
    assert_cells(row(rows, "BFGS (exact gradients)"), expected(cpu, "bfgs", False))
    assert_cells(row(rows, "Optimus (`optimus-diffphy`,"), expected(cpu, "optimus", True))
    assert_cells(row(rows, "Optimus (`optimus-diffphy-walk`"), expected(heldout, walk_only, True))
    assert_cells(row(rows, "Adafactor-MLP (`adafactor-mlp-functions`)"), expected(cpu, "adafactor-mlp", False))
    assert_cells(row(rows, "Adam (lr 0.02)"), expected(cpu, "adam", True))
    # "its BFGS rows repeat the table above to the last digit"
    bfgs = [[s for s in run["sequences"] if s["optimizer"] == "bfgs"] for run in (cpu, heldout)]
    assert bfgs[0] == [{**s, "wall_s": a["wall_s"]} for s, a in zip(bfgs[1], bfgs[0], strict=True)]
    dance = {s["optimizer"]: s["mpjpe_g"] for run in (cpu, heldout) for s in run["sequences"] if s["sequence"] == "mocap_dance"}
    cost = dance[walk_only] - dance["optimus"]
    assert_quoted(f"the unseen motion costs it {cost:.0f} mm ({100 * cost / dance['optimus']:.0f} %)",
                  f"the dance ({dance['optimus']:.1f} mm, {dance[walk_only]:.1f} held out)",
                  f"(Adam {dance['adam']:.1f} mm, BFGS falls)")  # fmt: skip


def test_the_bundled_clip_table_and_its_spread_match_video_cpu():
    runs = result("video_cpu.json")["runs"]
    rows = table("| optimizer | seed | initialise s | optimize s | 10 s clip s |")
    assert len(rows) == len(runs) == 3
    metrics = ("mpjpe_2d", "tv", "foot_skate")
    for run in runs:
        cells = [cells[2:] for cells in rows if cells[:2] == [run["optimizer"], str(run["seed"])]]
        assert len(cells) == 1, run["seed"]
        assert_cells(cells[0], [run["stage_s"]["initialise"], run["stage_s"]["optimize"],
                                    run["verdict"]["seconds_per_10s_of_video"],
                                    *[run["physics"][k] for k in (*metrics, "residual_force_pct")],
                                    *[run["kinematic"][k] for k in metrics]])  # fmt: skip
    ratio = _clip_ratios(runs)
    seconds = [run["verdict"]["seconds_per_10s_of_video"] for run in runs]
    lagging = result("video_cpu_before_feedforward.json")["runs"]
    before, ungated, shift = (_clip_ratios(result(f"video_cpu_{name}.json")["runs"])
                              for name in ("before_ground", "ground", "shift_ground"))  # fmt: skip
    unled, unled_seconds = _clip_ratios(lagging), [run["verdict"]["seconds_per_10s_of_video"] for run in lagging]
    over2 = _clip_ratios(result("video_cpu_velocity2.json")["runs"])
    assert_quoted(
        f"**{_spread(ratio['mpjpe_2d'])}** of the baseline's reprojection error",
        f"{_spread(ratio['tv'])} of its TV and {_spread(ratio['foot_skate'])} of its foot skate",
        f"{min(seconds):.0f}-{max(seconds):.0f} s per 10 s of video",
        f"(`video_cpu_velocity2.md`) it was {_spread(over2['mpjpe_2d'])}, {_spread(over2['tv'])} and "
        f"{_spread(over2['foot_skate'])}.",
        f"it was {_spread(unled['mpjpe_2d'])}, {_spread(unled['tv'])} and {_spread(unled['foot_skate'])} at "
        f"{min(unled_seconds):.0f}-{max(unled_seconds):.0f} s",
        f"reprojection error was {_spread(before['mpjpe_2d'])} of the baseline's and the foot skate "
        f"{_spread(before['foot_skate'], 2)}",
        f"it was {_spread(ungated['mpjpe_2d'])} and {_spread(ungated['foot_skate'])}",
        f"{_spread(shift['mpjpe_2d'])} and {_spread(shift['foot_skate'])}",
    )


def _clip_ratios(runs: list[dict]) -> dict[str, list[float]]:
    """Per metric, each bundled-clip run's physics value over its kinematic baseline's."""
    return {k: [r["physics"][k] / r["kinematic"][k] for r in runs] for k in ("mpjpe_2d", "tv", "foot_skate")}


def _spread(values, digits: int = 3) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


METRICS = ("mpjpe_2d", "pa_mpjpe", "w_mpjpe", "tv")


def test_the_semisynthetic_tuning_table_matches_its_two_result_files():
    rows = table("| variant | MPJPE-2d px | PA-MPJPE mm | W-MPJPE mm | TV | within bounds |")
    for start, name in (("refined IK, no residual force", "video_semisynthetic_tuning_no_residual_cpu.json"),
                        ("refined IK, residual force 0.1", "video_semisynthetic_tuning_cpu.json")):  # fmt: skip
        run = result(name)
        within = sum(s["within_bounds"] for s in run["sequences"])
        assert_cells(row(rows, start), [v for k in METRICS for v in (run["mean"][f"physics_{k}"], run["mean"][f"kinematic_{k}"])]
                     + [within, len(run["sequences"])])  # fmt: skip


GROUND_TUNING = {  # README row -> video_semisynthetic_ground_tuning_<name>_cpu.json
    "none (the default before)": "plain", "none, detections One-Euro smoothed": "smoothed", "shift 0.2": "shift",
    "ground 10, slide 10": "ground10", "ground 3, slide 3": "ground3", "shift 0.2, ground 3, slide 1": "shift_ground3_slide1",
    "shift 0.2, ground 1, slide 1": "shift_ground1", "ground 1, slide 1": "ground1",
    "ground 1, slide 1, only low and slow ankles (the default)": "gated",
}


def test_the_ground_contact_tuning_table_matches_its_result_files():
    rows = {cells[0].replace("**", ""): cells[1:] for cells in table("| new terms | MPJPE-2d px | PA-MPJPE mm | TV |")}
    assert set(rows) == set(GROUND_TUNING)
    for label, name in GROUND_TUNING.items():
        run = result(f"video_semisynthetic_ground_tuning_{name}_cpu.json")
        within = sum(s["within_bounds"] for s in run["sequences"])
        keys = ("mpjpe_2d", "pa_mpjpe", "tv", "foot_skate")
        assert_cells(rows[label], [v for k in keys for v in (run["mean"][f"physics_{k}"], run["mean"][f"kinematic_{k}"])]
                     + [within, len(run["sequences"])])  # fmt: skip


def test_the_ground_contact_candidate_sentences_match_its_semisynthetic_and_bundled_clip_runs():
    run = result("video_semisynthetic_shift_ground_cpu.json")
    mean, sequences = run["mean"], run["sequences"]
    assert not any(s["falls"] for s in sequences)
    assert_quoted(
        f"{len(run['runs'])} runs): foot skate {mean['physics_foot_skate']:.1f} % against the detections' "
        f"{mean['kinematic_foot_skate']:.1f} %",
        f"PA-MPJPE {mean['physics_pa_mpjpe']:.1f} against {mean['kinematic_pa_mpjpe']:.1f} mm, TV "
        f"{mean['physics_tv']:.2f} against {mean['kinematic_tv']:.2f} and no fall in {len(run['runs'])} runs",
        f"only {sum(s['within_bounds'] for s in sequences)} of {len(sequences)} sequences within the bounds",
        f"(mean {mean['physics_mpjpe_2d']:.1f} against {mean['kinematic_mpjpe_2d']:.1f} px)",
    )  # fmt: skip


SEMISYNTHETIC_ROWS = {  # README row of the three-seed table -> its result file
    "physics, mean": "video_semisynthetic_default_adam150_cpu.json",
    "physics, start velocities over 2 frames": "video_semisynthetic_default_adam150_velocity2_cpu.json",
    "physics, PD targets the poses themselves": "video_semisynthetic_default_adam150_velocity1_no-feedforward_cpu.json",
    "physics without the ground-contact term": "video_semisynthetic_before_ground_cpu.json",
    "physics, the term at every low ankle": "video_semisynthetic_ground_cpu.json",
}


def test_the_semisynthetic_table_and_the_untuned_ranges_match_the_three_seed_run():
    run = result("video_semisynthetic_default_adam150_cpu.json")
    sequences, mean = run["sequences"], run["mean"]
    rows = table("| | MPJPE-2d px | PA-MPJPE mm | W-MPJPE mm | TV | foot skate % | falls |")
    for label, name in SEMISYNTHETIC_ROWS.items():
        other = result(name)
        values = [other["mean"][f"physics_{k}"] for k in (*METRICS, "foot_skate")]
        values += [sum(s["falls"] for s in other["sequences"]), len(other["runs"]),
                   sum(s["within_bounds"] for s in other["sequences"]), len(other["sequences"])]  # fmt: skip
        assert_cells(row(rows, label), values)
    assert_cells(row(rows, "kinematic, mean"), [mean[f"kinematic_{k}"] for k in (*METRICS, "foot_skate")])
    untuned = [s for s in sequences if s["untuned"]]

    def span(key: str, digits: int = 1) -> str:
        means = [s[key][0] for s in untuned]  # [mean, spread] over the seeds
        return f"{min(means):.{digits}f}-{max(means):.{digits}f}"

    runs = sum(len(s["seeds"]) for s in untuned)
    assert_quoted(
        f"PA-MPJPE is {span('physics_pa_mpjpe')} mm against the detections' {span('kinematic_pa_mpjpe')} mm",
        f"its MPJPE-2d {span('physics_mpjpe_2d')} px against {span('kinematic_mpjpe_2d')} px",
        f"no fall in {runs} runs" if not any(s["falls"] for s in untuned) else "(falls on untuned sequences)",
        f"{sum(s['within_bounds'] for s in untuned)} of {len(untuned)} are within the bounds for every seed",
    )


def test_the_lead_and_the_runs_sentences_match_their_run_files():
    """What the lead changed, and the 0.8 s run, the last sequence to fail: per seed without the
    lead, with it over 2, 3 and 4 frames, its spread, and the larger budget without the lead."""
    default, over2, lagging = (result(f"video_semisynthetic_{name}_cpu.json") for name in
                               ("default_adam150", "default_adam150_velocity2", "default_adam150_velocity1_no-feedforward"))  # fmt: skip
    assert default["every_sequence_within_bounds"] and "**14 of 14 sequences**" in README
    better = sum(a["physics_pa_mpjpe"][0] < b["physics_pa_mpjpe"][0]
                 for a, b in zip(over2["sequences"], lagging["sequences"], strict=True))  # fmt: skip
    wider = sum(a["physics_pa_mpjpe"][0] < b["physics_pa_mpjpe"][0]
                for a, b in zip(default["sequences"], over2["sequences"], strict=True))  # fmt: skip
    run_led, run_lagging = (next(s for s in run["sequences"] if s["sequence"] == "mocap_run") for run in (over2, lagging))
    recoveries = sum(s["recoveries"] for s in default["sequences"])

    def per_seed(tag: str, key: str, evals: int = 150) -> str:
        files = [result(f"video_semisynthetic/mocap_run_default_adam{evals}{tag}_seed{k}.json") for k in range(3)]
        return ", ".join(f"{r['physics'][key] / r['kinematic'][key]:.2f}x" for r in files)

    budget = [result(f"video_semisynthetic/mocap_run_default_adam400_velocity1_no-feedforward_seed{k}.json")
              for k in (0, 2)]  # fmt: skip
    assert_quoted(
        f"lowered the pose error on {better} of the {len(over2['sequences'])} sequences and the whole-sequence error "
        f"W-MPJPE from {lagging['mean']['physics_w_mpjpe']:.1f} to {over2['mean']['physics_w_mpjpe']:.1f} mm",
        f"(the run's spread over seeds: ± {run_led['physics_pa_mpjpe'][1]:.1f} mm PA-MPJPE against "
        f"± {run_lagging['physics_pa_mpjpe'][1]:.1f})",
        f"With the targets the poses themselves its PA-MPJPE was {per_seed('_velocity1_no-feedforward', 'pa_mpjpe')} of the "
        f"detections' for seeds 0-2 (2D error {per_seed('_velocity1_no-feedforward', 'mpjpe_2d')})",
        f"PA-MPJPE {budget[0]['physics']['pa_mpjpe']:.1f} and {budget[1]['physics']['pa_mpjpe']:.1f} mm for seeds 0 and 2",
        f"over 2 frames, PA-MPJPE {per_seed('_velocity2', 'pa_mpjpe')}, but the 2D error {per_seed('_velocity2', 'mpjpe_2d')}",
        f"Over 3 frames each side: PA-MPJPE {per_seed('', 'pa_mpjpe')} and 2D error {per_seed('', 'mpjpe_2d')}",
        f"over 4, seed 2 fails (PA-MPJPE {per_seed('_velocity4', 'pa_mpjpe').split(', ')[2]},",
        f"(PA-MPJPE lower on {wider} of 14; means in the table)",
        f"triggered {'once' if recoveries == 1 else f'{recoveries} times'} in the 42 runs",
    )  # fmt: skip


def test_the_camera_fit_numbers_match_camera_fit():
    runs = [r for r in result("camera_fit.json")["runs"] if not r["tuning"]]
    estimated, assumed = ([r[k] for r in runs] for k in ("estimated_log_error", "default_log_error"))
    up = [r["up_error_deg"] for r in runs]
    assert_quoted(
        f"median |log(estimate / true)| {np.median(estimated):.2f} against {np.median(assumed):.2f} on the untuned "
        f"sequences, worst {max(estimated):.2f} against {max(assumed):.2f}",
        f"to {np.mean(up):.1f} degrees on the mean (worst",
        f"to {max(up):.0f}: a spin kick's raised foot",
    )  # fmt: skip


def _agreement(*names: str, optimizers=("bfgs", "adam", "gd-momentum")) -> list[int]:
    """Agreement with the paper summed over result files: [agree, rows] per optimizer."""
    runs = [result(name)["agreement_with_paper"] for name in names]
    return [sum(run[o][key] for run in runs) for o in optimizers for key in ("agree", "rows")]


def test_the_classical_benchmark_table_and_sentences_match_the_functions_results():
    rows = table("| file | what | agreement with the paper")
    what, agreement = row(rows, "`functions_baselines`")
    assert f"({result('functions_baselines.json')['wall_s']:.0f} s)" in what
    assert_cells([agreement], _agreement("functions_baselines.json"))
    assert_cells(row(rows, "`functions_baselines_250d`")[1:],
                 _agreement("functions_baselines_250d.json", optimizers=("bfgs",)) + _agreement("functions_baselines_500d.json", optimizers=("bfgs",)))  # fmt: skip
    assert f"Optimus at 500d: {result('functions_optimus_500d.json')['wall_s']:,.0f} s" in row(rows, "`functions_adafactor_mlp`")[0]
    thousand = [f"functions_1000d_{part}.json" for part in "abcde"]
    what, agreement = row(rows, "`functions_1000d_a`")
    assert f"({sum(result(name)['wall_s'] for name in thousand):,.0f} s in all)" in what
    assert_cells([agreement], _agreement(*thousand))
    merged, heldout = result("functions_all_summary.json"), result("functions_heldout_summary.json")
    what, agreement = row(rows, "`functions_all`, `functions_heldout`")
    assert f"{merged['cells']} cells" in what and f"{heldout['cells']} cells" in what
    order = ("bfgs", "adam", "gd-momentum", "adafactor-mlp", "optimus")
    assert_cells([agreement.replace("rho(1)", "")], [heldout["rho_at_1"][o] for o in order])
    similarity = result("step_direction.json")["similarity"]
    assert_cells(row(rows, "`step_direction`")[1:], [np.nanmean(np.asarray(similarity[o][k], float))
                                                     for o in ("optimus", "adafactor-mlp", "bfgs") for k in ("gradient", "newton")])  # fmt: skip
    (largest,) = [r for r in result("step_time.json")["rows"] if r["dim"] == 1000]
    assert_cells(row(rows, "`step_time`")[1:], [1000, *(1000.0 * largest[k] for k in ("optimus_step_s", "bfgs_fd_iteration_s", "bfgs_exact_iteration_s"))])
    below = {o: 100.0 * heldout["versus"][o]["ends_lower_fraction"] for o in ("bfgs", "adam", "gd-momentum")}
    assert_quoted(
        f"Optimus ends below Adafactor-MLP on {100 * merged['versus']['adafactor-mlp']['ends_lower_fraction']:.0f} % "
        f"of the {merged['cells']} benchmark cells",
        f"Optimus ends below BFGS on {below['bfgs']:.0f} %", f"below Adam on {below['adam']:.0f} %",
        f"below GD-M on {below['gd-momentum']:.0f} %",
    )  # fmt: skip


def test_the_rotated_hyper_ellipsoid_sentence_matches_the_bfgs_results():
    gap = {(r["function"], r["dim"]): r["gap_mean"]
           for name in ("functions_baselines_250d.json", "functions_baselines_500d.json",
                        *(f"functions_1000d_{part}.json" for part in "abcde"))
           for r in result(name)["records"] if r["optimizer"] == "bfgs"}  # fmt: skip
    sentence = re.search(r"\(BFGS ([^)]*) against ([^)]*)\)", " ".join(README.split()))
    assert sentence is not None
    for text, function in zip(sentence.groups(), ("rotated-hyper-ellipsoid", "sum-of-squares"), strict=True):
        assert_cells([text], [gap[function, d] for d in (250, 500, 1000)])



def _over_seeds(rows: list[dict], column: str) -> list[float]:
    """[mean, spread] of ``column`` as benchmarks/diffphy.py prints it: per-seed means of ``rows``,
    their mean and standard deviation."""
    per_seed = [np.mean([r[column] for r in rows if r["seed"] == s]) for s in sorted({r["seed"] for r in rows})]
    return [float(np.mean(per_seed)), float(np.std(per_seed))]


def test_the_test_pool_table_matches_diffphy_pool_5900_cpu():
    run = result("diffphy_pool_5900_cpu.json")
    (pool,) = run["checkpoints"]
    rows = table("| test-pool motion | Adam (lr 0.02) | Optimus (`optimus-diffphy-pool`")
    sequences = run["sequences"]
    assert sorted({s["seed"] for s in sequences}) == [0, 1, 2]

    def cells(**match) -> list[float]:
        return [value for name in ("adam", pool) for value in _over_seeds(
            [s for s in sequences if s["optimizer"] == name and all(s[k] == v for k, v in match.items())], "mpjpe_g")]

    for label, sequence in (("walk", "mocap_walk"), ("dance", "mocap_dance"), ("dance_a", "mocap_dance_a"),
                            ("spinkick", "mocap_spinkick")):  # fmt: skip
        assert_cells(row(rows, f"{label} (real)"), cells(sequence=sequence))
    for kind in ("real", "synthetic"):
        assert_cells(row(rows, f"mean of the {kind}"), cells(kind=kind))
    assert_cells(row(rows, "mean of all 10"), cells())
    for label, part in (("fixed mocap windows", "fixed_windows"), ("video-style windows", "video_windows")):
        summary = run[part]["summary"]
        assert_cells(row(rows, label), [summary[name]["median_final_over_start"] for name in ("adam", pool)])
    means = {name: {s["sequence"]: np.mean([r["mpjpe_g"] for r in sequences if r["optimizer"] == name
                                            and r["sequence"] == s["sequence"]]) for s in sequences}
             for name in ("adam", pool)}  # fmt: skip
    better = sum(means[pool][s] <= means["adam"][s] for s in means["adam"])
    fixed, video = run["fixed_windows"]["summary"][pool], run["video_windows"]["summary"][pool]
    assert_quoted(f"better on {better} of the {len(means['adam'])}",
                  f"after a median of **{fixed['evals_to_adam_loss_median']:.0f}** evaluations (on "
                  f"{100 * fixed['windows_reaching_adam_loss']:.0f} % of the {len(run['fixed_windows']['windows'])} windows",
                  f"reaches Adam's final loss on {100 * video['windows_reaching_adam_loss']:.0f} % of the windows",
                  f"content hash `{run['checkpoints'][pool]['sha256'][:12]}`")  # fmt: skip


def scored_windows(name: str) -> tuple[dict, str, dict, dict]:
    """A ``--windows-only`` result: the run, its checkpoint's optimizer name, and the summaries of
    its mocap and video-style windows."""
    run = result(name)
    (pool,) = run["checkpoints"]
    return run, pool, run["fixed_windows"]["summary"], run["video_windows"]["summary"]


def test_the_campaign_checkpoint_sentence_matches_diffphy_windows_6600_cpu():
    run, pool, fixed, video = scored_windows("diffphy_windows_6600_cpu.json")
    assert_quoted(f"hash `{run['checkpoints'][pool]['sha256'][:12]}`",
                  f"at **{video[pool]['median_final_over_start']:.3f}** of the start loss (Adam "
                  f"{video['adam']['median_final_over_start']:.3f})",
                  f"reaches Adam's final loss on {100 * video[pool]['windows_reaching_adam_loss']:.0f} % of them",
                  f"slipped from 0.035 to {fixed[pool]['median_final_over_start']:.3f}",
                  f"needs {fixed[pool]['evals_to_adam_loss_median']:.0f} evaluations (median)")  # fmt: skip


def test_the_7200_step_sentence_matches_diffphy_windows_7200_cpu():
    run, pool, fixed, video = scored_windows("diffphy_windows_7200_cpu.json")
    assert_quoted(f"hash `{run['checkpoints'][pool]['sha256'][:12]}`, the same",
                  f"ends at **{video[pool]['median_final_over_start']:.3f}** of the start loss, below Adam's "
                  f"{video['adam']['median_final_over_start']:.3f}",
                  f"reaches Adam's final loss on only {100 * video[pool]['windows_reaching_adam_loss']:.0f} % of them",
                  f"at {fixed[pool]['median_final_over_start']:.3f} and need {fixed[pool]['evals_to_adam_loss_median']:.0f} evaluations")  # fmt: skip
    assert video[pool]["median_final_over_start"] < video["adam"]["median_final_over_start"]


def test_the_campaign_curve_is_up_to_date_with_the_scored_checkpoints():
    """benchmarks/results/campaign_curve.json is what benchmarks/campaign_curve.py computes from the
    committed result files (rerun it after scoring a checkpoint)."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from campaign_curve import points
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    committed = result("campaign_curve.json")["points"]
    fresh = json.loads(json.dumps(points()))  # as written: inf and tuples as JSON gives them back
    assert committed == fresh
    five = result("diffphy_pool_5900_cpu.json")  # the recomputed summary equals the benchmark's own
    (optimus,) = five["checkpoints"]
    scored = {r["steps"]: r for r in committed}
    assert scored[5900]["mocap"]["evals_to_adam_loss_median"] == five["fixed_windows"]["summary"][optimus]["evals_to_adam_loss_median"]
    assert scored[5900]["video"]["windows_reaching_adam_loss"] == five["video_windows"]["summary"][optimus]["windows_reaching_adam_loss"]


def test_the_operating_modes_table_and_sentences_match_diffphy_modes_cpu():
    run = result("diffphy_modes_cpu.json")
    summary = run["summary"]
    rows = table("| mode (test pool, 4 real clips) |")
    for label, mode in (("Optimus, stopping rule", "Optimus, stopping rule"), ("Optimus, 50", "Optimus, 50 evaluations"),
                        ("Optimus + basin", "Optimus + basin hopping"), ("Optimus, 100", "Optimus, 100 evaluations"),
                        ("BFGS", "BFGS, 50 evaluations"), ("Adam", "Adam, 50 evaluations")):  # fmt: skip
        cells = row(rows, label)
        spread = [summary[mode]["mpjpe_g_std_over_seeds"]] if len(summary[mode]["seeds"]) > 1 else []
        assert_cells(cells[:2], [summary[mode]["mpjpe_g"], *spread, summary[mode]["evals_per_window"]])
    stop = summary["Optimus, stopping rule"]
    hopping, plain = summary["Optimus + basin hopping"]["per_motion"], summary["Optimus, 100 evaluations"]["per_motion"]
    assert all(plain[motion] < hopping[motion] for motion in plain)  # "better still ... every clip"
    assert_quoted(f"saves {100 * (1 - stop['evals_per_window'] / 50):.0f} % of the evaluations",
                  f"the spin kick {plain['mocap_spinkick']:.2f} against {hopping['mocap_spinkick']:.2f} mm",
                  f"content hash `{next(iter(run['checkpoints'].values()))['sha256'][:12]}`")  # fmt: skip


def test_the_operating_modes_table_matches_functions_modes():
    run = result("functions_modes_cpu.json")
    per_seed = {(r["optimizer"], r["mode"]): r["per_seed"] for r in run["rows"]}

    def mean(optimizer: str, mode: str, key: str) -> float:
        return float(np.mean([seed[key] for seed in per_seed[optimizer, mode]]))

    rows = table("| optimizer | fixed: evaluations, median gap | stopping rule | basin hopping |")
    for label, optimizer in (("BFGS", "bfgs"), ("Adam", "adam"), ("GD-M", "gd-momentum"), ("Optimus", "optimus")):
        values = [mean(optimizer, mode, key) for mode in ("fixed", "stopping", "basin-hopping")
                  for key in ("evaluations", "median_gap")]  # fmt: skip
        assert_cells(row(rows, label), [*values, 100.0 * mean(optimizer, "basin-hopping", "lower_than_fixed")])
