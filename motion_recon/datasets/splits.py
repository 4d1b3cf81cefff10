"""The evaluation splits shipped in ``data/splits/`` (see its README)."""

from __future__ import annotations

import csv

from ..paths import data_dir

SPLITS = ("val", "aist15", "physcap")
_FILES = {"val": "h36m_val.csv", "aist15": "aist15.csv", "physcap": "h36m_physcap.csv"}


def load_split(name: str) -> list[dict[str, str]]:
    """Rows of a split as dictionaries of its CSV columns."""
    if name not in _FILES:
        raise ValueError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
    with open(data_dir() / "splits" / _FILES[name], newline="") as f:
        return list(csv.DictReader(f))
