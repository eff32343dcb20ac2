"""DDP over 2 CPU processes (gloo, torchrun) gives the same model as one process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_dataset(folder: Path) -> None:
    g = torch.Generator().manual_seed(3)
    n, r = 25, 2
    rows = set()
    while len(rows) < 96 + 20:
        rows.add((int(torch.randint(0, n, (1,), generator=g)), int(torch.randint(0, r, (1,), generator=g)),
                  int(torch.randint(0, n, (1,), generator=g))))
    rows = sorted(rows)
    folder.mkdir()
    for name, part in (("train", rows[:96]), ("valid", rows[96:106]), ("test", rows[106:])):
        (folder / f"{name}.txt").write_text("".join(f"e{h}\tr{p}\te{t}\n" for h, p, t in part))


def test_ddp_two_processes_matches_single(tmp_path):
    pytest.importorskip("torch.distributed")
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    data_dir = tmp_path / "data"
    _write_dataset(data_dir)
    # 96 train triples -> 192 queries -> 6 batches of 32, 16 per process: same global batches
    args = [
        f"data.dataset={json.dumps(str(data_dir))}",
        "model.dim=8", "model.reg_weight=0.01", "training.epochs=3", "training.batch_size=32",
        "training.eval_every=1", "training.patience=0", 'training.device="cpu"',
        "training.checkpoint_every_minutes=0", "training.optimizer=\"adam\"", "training.lr=0.05",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    from kg_engine.gnn.training import main

    assert main(["complex", str(tmp_path / "one"), *args]) == 0  # the same entry point, one process
    for attempt in range(2):
        ddp = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1",
             f"--master_port={_free_port()}", "-m", "kg_engine.gnn.training", "complex",
             str(tmp_path / "two"), *args],
            check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )
        # a worker aborting in the C++ runtime ("terminate called without an active
        # exception", SIGABRT) was seen once in ~10 loaded CI runs and never reproduced alone:
        # one fresh retry for that abort only; anything else fails at once
        if ddp.returncode == 0 or attempt or "terminate called without" not in ddp.stderr:
            break
        shutil.rmtree(tmp_path / "two", ignore_errors=True)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert two["world_size"] == 2 and one["world_size"] == 1
    assert two["steps"] == one["steps"] == 18
    w1 = torch.load(tmp_path / "one" / "best.pt", weights_only=True)["model"]
    w2 = torch.load(tmp_path / "two" / "best.pt", weights_only=True)["model"]
    for key in w1:
        assert torch.allclose(w1[key], w2[key], atol=1e-5), key
    # sharded evaluation sums to the same metrics as the single-process evaluation
    assert two["test"]["mrr"] == pytest.approx(one["test"]["mrr"], abs=1e-4)
    assert two["test"]["hits@10"] == pytest.approx(one["test"]["hits@10"], abs=1e-4)
