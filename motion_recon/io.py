"""Output files written atomically: to a temporary name beside the target, then renamed, so an
interrupted run never leaves a half-written file or clobbers an existing one. A folder of files
that belong together (a checkpoint) is written whole the same way: into a temporary folder,
then swapped in (``atomic_folder``)."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path in ``path``'s folder; on success it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # named, not created, here: the writer creates it with the usual permissions
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yields an empty temporary folder beside the folder ``path``; on success it replaces
    ``path`` whole, so a reader (after ``recover_folder``) sees the old folder or the new one,
    never a mix. Files of the old folder that the new one does not have are kept (hard links,
    or copies where links fail).

    The swap is two renames: the finished folder is renamed ``.<name>.next``, then ``path`` is
    renamed ``.<name>.prev`` and ``.<name>.next`` takes its place; an interruption between them
    is finished by ``recover_folder``."""
    path = Path(path)
    recover_folder(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir(parents=True)
    try:
        yield tmp
        if path.is_dir():
            for old in path.iterdir():
                if not (tmp / old.name).exists():
                    _keep(old, tmp / old.name)
        os.replace(tmp, _swap_name(path, "next"))  # complete from here on
        _swap_in(path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def recover_folder(path: str | Path) -> None:
    """Finishes an ``atomic_folder`` swap into ``path`` that was interrupted: a complete
    ``.<name>.next`` takes ``path``'s place, a leftover ``.<name>.prev`` is put back where
    ``path`` is missing and removed otherwise, as are the temporary folders of interrupted
    writes. Nothing happens when there is nothing to finish."""
    path = Path(path)
    if _swap_name(path, "next").is_dir():
        _swap_in(path)
    previous = _swap_name(path, "prev")
    if previous.is_dir():
        if path.is_dir():
            shutil.rmtree(previous)
        else:
            os.replace(previous, path)
    for stale in path.parent.glob(f".{path.name}.*.tmp") if path.parent.is_dir() else ():
        shutil.rmtree(stale)


def _swap_name(path: Path, which: str) -> Path:
    return path.with_name(f".{path.name}.{which}")


def _swap_in(path: Path) -> None:
    """``.<name>.next`` becomes ``path``; the folder it replaces is removed."""
    previous = _swap_name(path, "prev")
    if path.is_dir():
        if previous.is_dir():
            shutil.rmtree(previous)
        os.replace(path, previous)
    os.replace(_swap_name(path, "next"), path)
    if previous.is_dir():
        shutil.rmtree(previous)


def _keep(source: Path, target: Path) -> None:
    """``source`` (a file or folder) at ``target`` too: hard links, copies where they fail."""
    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    if source.is_dir():
        shutil.copytree(source, target, copy_function=link)
    else:
        link(source, target)


def write_json(path: str | Path, data) -> None:
    """Writes ``data`` as indented JSON, atomically (non-finite floats as ``Infinity``/``NaN``,
    as Python's json module writes and reads them)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, default=_jsonable) + "\n")


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _jsonable(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
