"""Scale-out on Ray (the ``distributed`` extra): connecting to a cluster, or starting a local one.

``--ray`` takes ``local`` (a Ray instance on this machine, as many workers as cores), ``auto``
(the cluster this machine joined with ``ray start``) or a cluster address (``HOST:PORT`` or
``ray://HOST:PORT``). Workers need the same ``motion-recon`` installed (and its data folder);
tasks are retried ``MAX_RETRIES`` times before their failure is reported.
"""

from __future__ import annotations

MAX_RETRIES = 2  # per task, after the first attempt: failures of a worker or of the task itself


def ray_module():
    """``ray``, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError as err:
        raise ImportError(f'--ray needs Ray: pip install "motion-recon[distributed]" ({err})') from err
    return ray


def connect(address: str, num_cpus: int | None = None):
    """Connects to (or, for ``local``, starts) Ray once per process and returns the module."""
    ray = ray_module()
    if not ray.is_initialized():
        options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address == "local":
            ray.init(num_cpus=num_cpus, **options)
        else:
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise ValueError(f"--ray {address}: cannot connect to a Ray cluster ({err})") from err
    return ray


class TaskFailed(RuntimeError):
    """A task that failed on every attempt; ``error`` is the last one's message."""

    def __init__(self, label: str, error: str):
        super().__init__(f"{label}: failed after {MAX_RETRIES + 1} attempts: {error}")
        self.label, self.error = label, error


def map_tasks(fn, calls: list[tuple], labels: list[str], progress=None, retries: int = MAX_RETRIES) -> list:
    """Runs ``fn(*args)`` for every ``args`` of ``calls`` as Ray tasks (``fn``: a module-level
    function, importable on the workers) and returns their values in order; a call that failed on
    all of its ``1 + retries`` attempts gives a ``TaskFailed`` in its place, never nothing.
    ``progress(label, done, total)`` is called on the driver as tasks finish."""
    import ray

    remote = ray.remote(fn).options(max_retries=retries, retry_exceptions=True)
    pending = {remote.remote(*args): k for k, args in enumerate(calls)}
    values: list = [None] * len(calls)
    while pending:
        (ref,), _ = ray.wait(list(pending), num_returns=1)
        k = pending.pop(ref)
        try:
            values[k] = ray.get(ref)
        except ray.exceptions.RayError as err:
            values[k] = TaskFailed(labels[k], error_line(getattr(err, "cause", None) or err))
        if progress is not None:
            progress(labels[k], len(calls) - len(pending), len(calls))
    return values


def error_line(err: BaseException) -> str:
    """``Type: message``, its first line: how a failed task (or sequence) is reported."""
    return f"{type(err).__name__}: {err}".splitlines()[0]
