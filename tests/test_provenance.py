"""One provenance record for every output: versions, command, commit, hardware, time, seed and
a checkpoint's path with the SHA-256 of its weights."""

import hashlib
import re

from motion_recon.paths import data_dir
from motion_recon.provenance import record


def test_a_record_names_the_code_the_machine_and_the_checkpoint_by_content():
    folder = data_dir() / "checkpoints" / "optimus-functions"
    made = record(seed=7, checkpoint=folder)
    assert made["seed"] == 7 and made["versions"]["jax"] != "not installed"
    assert re.fullmatch(r"[0-9a-f]{40}(\+changes)?|unknown", made["commit"])
    assert made["hardware"]["cpus"] >= 1 and made["hardware"]["platform"] in ("cpu", "gpu", "cuda", "tpu")
    expected = hashlib.sha256((folder / "weights.npz").read_bytes()).hexdigest()
    assert made["checkpoint"] == {"path": str(folder), "sha256": expected}
    assert "checkpoint" not in record() and "seed" not in record()
