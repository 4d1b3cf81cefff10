"""What the commands print: metric tables, the classical benchmark's table, and the text
summaries of a video run and of a result file, as rich renderables and lines of console markup.
The command line only prints them."""

from __future__ import annotations

import numpy as np
from rich.table import Table

METRIC_COLUMNS = (
    ("mpjpe_g", "MPJPE-G", "{:.1f}"), ("mpjpe", "MPJPE", "{:.1f}"), ("mpjpe_pa", "MPJPE-PA", "{:.1f}"),
    ("mpjpe_2d", "MPJPE-2d", "{:.1f}"), ("tv", "TV", "{:.3f}"), ("foot_skate", "skate %", "{:.1f}"),
    ("kinematic_fit_mm", "body fit mm", "{:.1f}"), ("evals_per_window", "evals/win", "{:.1f}"),
    ("wall_s", "wall s", "{:.0f}"),
)  # fmt: skip


def metrics_table(title: str, rows: dict[str, dict]) -> Table:
    """One row per named metrics dictionary; columns that no row has are left out."""
    columns = [c for c in METRIC_COLUMNS if any(c[0] in r for r in rows.values())]
    table = Table(title=title)
    table.add_column("", overflow="fold")  # names wrap; the numbers and their headers never do
    for _, header, _ in columns:
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for name, row in rows.items():
        table.add_row(name, *(fmt.format(row[key]) if key in row else "-" for key, _, fmt in columns))
    return table


def functions_table(records, paper: dict) -> Table:
    """Table 8's quantity per (function, dimension) and optimizer, the paper's value in brackets,
    beside the mean function evaluations per run."""
    names = list(dict.fromkeys(r.optimizer for r in records))
    table = Table(title="mean final value - f* (paper's value in brackets); evals: mean evaluations per run")
    table.add_column("function")
    for name in names:
        table.add_column(name, justify="right")
        table.add_column("evals", justify="right")
    by_key = {(r.function, r.dim, r.optimizer): r for r in records}
    for function, dim in dict.fromkeys((r.function, r.dim) for r in records):
        row = [f"{function} {dim}d"]
        for name in names:
            record, theirs = by_key[function, dim, name], paper.get((function, dim), {}).get(name)
            ours = f"{record.gap_mean:.2e}"
            row += [ours if theirs is None else f"{ours} [dim]({theirs:.2e})[/]", f"{record.nfev_mean:.1f}"]
        table.add_row(*row)
    return table


def agreement_lines(report: dict) -> list[str]:
    """Per optimizer, how many rows are within 10x of the paper; and the wall time."""
    lines = [f"{name}: {s['agree']}/{s['rows']} rows within 10x of the paper (or both < 1e-6)"
             for name, s in report["agreement_with_paper"].items()]  # fmt: skip
    return [*lines, f"wall time {report['wall_s']:.1f} s"]


def _final_losses(windows: dict) -> list[float]:
    return [row[np.isfinite(row)][-1] for row in windows["losses"]]


def video_line(name: str, run, person_index: int) -> str:
    """The frames, the person, the windows and the mean window loss of a video run."""
    result, track = run.result, run.track
    windows, final = result.windows, _final_losses(result.windows)
    return (f"[bold]{name}[/]: video frames {run.first}-{run.first + len(track.found) - 1} "
            f"({len(track.found)} at {track.fps:g} fps), person {person_index} seen in "
            f"{int(track.found.sum())}; {len(result.simulated)} simulated frames at {result.fps:g} fps, "
            f"{len(final)} windows, loss {np.mean(windows['losses'][:, 0]):.3e} -> {np.mean(final):.3e} "
            f"(mean over windows)")  # fmt: skip


def result_lines(result) -> list[str]:
    """A result file's input, body, optimizer and window losses (``recon report``)."""
    windows, frames = result.windows, len(result.simulated)
    final = _final_losses(windows)
    return [
        f"[bold]{result.name}[/]: {frames} frames at {result.fps:g} fps ({frames / result.fps:.1f} s), "
        f"engine {result.engine}, body {result.body['height']:.2f} m / {result.body['mass']:.1f} kg",
        f"optimizer {result.optimization.get('optimizer')}, {len(windows['start'])} windows, "
        f"{windows['nfev'].sum()} evaluations ({windows['nfev'].mean():.1f} per window), "
        f"checkpoint {_checkpoint_text(result.provenance.get('checkpoint'))}",
        f"window loss: first {np.mean(windows['losses'][:, 0]):.3e} -> final {np.mean(final):.3e} "
        f"(mean over windows); status {_counts(windows['status'])}",
    ]  # fmt: skip


def made_by_line(result) -> str:
    """The command, time and commit that made a result file."""
    made = result.provenance.get("time") or result.provenance.get("created", "-")  # "created": files before 2026-12-06
    return f"made by: {result.provenance.get('command', '-')} ({made}, commit {result.provenance.get('commit', '-')})"


def _checkpoint_text(checkpoint) -> str:
    """A result's learned-optimizer checkpoint: path and short content hash (older files: the path)."""
    if isinstance(checkpoint, dict):
        return f"{checkpoint['path']} (sha256 {checkpoint['sha256'][:12]})"
    return checkpoint or "-"


def _counts(values) -> str:
    names, counts = np.unique(np.asarray(values), return_counts=True)
    return ", ".join(f"{n} {c}" for n, c in zip(names, counts, strict=True))
