"""The ``recon`` command line: parse arguments, call the library, write outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="Physics-based human motion reconstruction with learned optimizers.", no_args_is_help=True)
bench = typer.Typer(help="Benchmarks of the optimizers.", no_args_is_help=True)
app.add_typer(bench, name="bench")
console = Console()
USAGE_ERROR = 2


def fail(message: str, code: int = USAGE_ERROR) -> None:
    """One-line error on stderr and a non-zero exit."""
    Console(stderr=True).print(f"[bold red]recon: error:[/] {message}", highlight=False, soft_wrap=True)
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


def _number(text: str | None, what: str, kind: type = int):
    """Parses a numeric option here (not by typer) so a bad value is a one-line error."""
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        fail(f"--{what} takes {'an integer' if kind is int else 'a number'}, got {text!r}")


@bench.command("functions")
def bench_functions(
    functions: Annotated[Optional[str], typer.Option(help="Comma-separated function names (default: all 15).")] = None,
    dims: Annotated[Optional[str], typer.Option(help="Comma-separated dimensions (default: 2,10,20,50,100,250,500,1000).")] = None,
    optimizers: Annotated[Optional[str], typer.Option(help="Comma-separated optimizers (default: bfgs,adam,gd-momentum).")] = None,
    starts: Annotated[Optional[str], typer.Option(help="Random starts per problem (default 64).")] = None,
    iters: Annotated[Optional[str], typer.Option(help="Iterations per run (default 200).")] = None,
    seed: Annotated[str, typer.Option(help="Seed of the random starts.")] = "0",
    start_range: Annotated[str, typer.Option(help="Starts are drawn from U[-R, R]^d.")] = "10",
    workers: Annotated[Optional[str], typer.Option(help="Processes for scipy's methods (default: CPU count).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write every record as JSON here.")] = None,
    table: Annotated[Optional[Path], typer.Option(help="Write the Table 8 markdown here.")] = None,
    plots: Annotated[Optional[Path], typer.Option(help="Write performance_profile.png and iteration_ratios.png here.")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Small run (d 2,10; 16 starts; 7 learning rates), under a minute.")] = False,
) -> None:
    """The paper's classical benchmark (section 5.1, Table 8) with the paper's values beside ours."""
    from motion_recon.functions.benchmark import BenchmarkConfig
    from pipelines.benchmark import QUICK, run_functions_benchmark

    given = {
        "functions": _names(functions), "dims": _ints(dims, "dims"), "optimizers": _names(optimizers),
        "starts": _number(starts, "starts"), "iterations": _number(iters, "iters"),
        "workers": _number(workers, "workers"),
    }
    settings = {**(QUICK if quick else {}), **{k: v for k, v in given.items() if v is not None}}
    try:
        config = BenchmarkConfig(
            seed=_number(seed, "seed"), start_range=_number(start_range, "start-range", float), **settings
        )
    except ValueError as err:
        fail(str(err))
    total = len(config.functions) * len(config.dims) * len(config.optimizers)
    with Progress(
        TextColumn("[bold]bench functions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=console,
    ) as progress:
        task = progress.add_task("starting", total=total)
        try:
            records, report = run_functions_benchmark(
                config, json_path=json_path, table_path=table, plots_dir=plots,
                progress=lambda label: progress.update(task, advance=1, description=label),
            )
        except FileNotFoundError as err:
            fail(str(err))
    _print_results(records, report)
    for path in (json_path, table, plots):
        if path is not None:
            console.print(f"wrote {path}")


@app.command("train")
def train_command(
    optimizer: Annotated[str, typer.Argument(help="optimus or adafactor-mlp.")],
    out: Annotated[Path, typer.Option(help="Checkpoint folder (resumed when it holds a run).")],
    tasks: Annotated[str, typer.Option(help="Task family.")] = "functions",
    steps: Annotated[str, typer.Option(help="Outer (meta) steps.")] = "1000",
    batch: Annotated[str, typer.Option(help="Tasks per outer step (antithetic pairs).")] = "8",
    trunc: Annotated[str, typer.Option(help="Inner steps per PES truncation.")] = "10",
    seed: Annotated[str, typer.Option(help="Seed of the whole run.")] = "0",
    variant: Annotated[str, typer.Option(help="Optimus ablation: full, no-state, no-structure.")] = "full",
    hidden_size: Annotated[str, typer.Option(help="Adafactor-MLP width (128 or 512 in the paper).")] = "128",
) -> None:
    """Meta-train a learned optimizer with PES (the paper's section 3.1 and supplement B)."""
    from motion_recon.meta.train import TrainConfig
    from pipelines.train import run_training

    try:
        config = TrainConfig(
            optimizer=optimizer, tasks=tasks, steps=_number(steps, "steps"), batch=_number(batch, "batch"),
            trunc=_number(trunc, "trunc"), seed=_number(seed, "seed"),
        )
        with Progress(
            TextColumn(f"[bold]train {optimizer}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.description}"), console=console,
        ) as progress:
            bar = progress.add_task("compiling", total=config.steps)
            last = run_training(
                config, out, variant=variant, hidden_size=_number(hidden_size, "hidden-size"),
                progress=lambda e: progress.update(
                    bar, completed=e["step"],
                    description=f"meta-loss {e['meta_loss']:.3f}  {e['steps_per_s']:.2f} steps/s  {e['task']}",
                ),
            )
    except (ValueError, FileNotFoundError) as err:
        fail(str(err))
    console.print(f"step {last['step']}: meta-loss {last['meta_loss']:.3f}; checkpoint in {out}")


def _print_results(records, report) -> None:
    from motion_recon.functions.paper import load_paper_table

    paper = load_paper_table()
    names = list(dict.fromkeys(r.optimizer for r in records))
    table = Table(title="mean final value - f* (paper's value in brackets)")
    table.add_column("function")
    for name in names:
        table.add_column(name, justify="right")
    by_key = {(r.function, r.dim, r.optimizer): r for r in records}
    for function, dim in dict.fromkeys((r.function, r.dim) for r in records):
        row = [f"{function} {dim}d"]
        for name in names:
            theirs = paper.get((function, dim), {}).get(name)
            ours = f"{by_key[function, dim, name].gap_mean:.2e}"
            row.append(ours if theirs is None else f"{ours} [dim]({theirs:.2e})[/]")
        table.add_row(*row)
    console.print(table)
    for name, s in report["agreement_with_paper"].items():
        console.print(f"{name}: {s['agree']}/{s['rows']} rows within 10x of the paper (or both < 1e-6)")
    console.print(f"wall time {report['wall_s']:.1f} s")


def main() -> None:
    app()


@app.callback()
def _root() -> None:
    """Keeps ``recon`` a command group while it has few commands."""
