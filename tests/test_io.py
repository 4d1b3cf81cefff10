import os
import stat

import pytest

from motion_recon.io import atomic_path, write_json


def test_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]


def test_write_json_replaces_with_normal_permissions(tmp_path):
    target = tmp_path / "sub" / "r.json"
    write_json(target, {"a": [1.0, float("inf")]})
    assert target.read_text().startswith("{") and "Infinity" in target.read_text()
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
