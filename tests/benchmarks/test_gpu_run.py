"""benchmarks/gpu/run.py: the one-command device run, exercised as its CPU smoke on UMLS."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "benchmarks" / "gpu" / "run.py"


def _load_run():
    spec = importlib.util.spec_from_file_location("gpu_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_bundle_names_missing_wheels_and_data(tmp_path):
    run = _load_run()
    (tmp_path / "wheels").mkdir()
    with zipfile.ZipFile(tmp_path / "wheels" / "rdflib-7.6.0-py3-none-any.whl", "w") as z:
        z.writestr("rdflib/__init__.py", "")
        z.writestr("rdflib-7.6.0.dist-info/METADATA", "")
    result = run.check_bundle(tmp_path)
    assert not result["ok"]
    # the GNN path needs pydantic (config) and rdflib (kg_engine.core); rdflib is carried
    assert "pydantic" in result["missing_modules"] and "pydantic_core" in result["missing_modules"]
    assert "rdflib" not in result["missing_modules"] and result["provided"]["rdflib"].startswith(
        "rdflib-"
    )
    assert "torch" not in result["needed"]  # in the device image
    assert "umls/train.txt.gz" in result["missing_data"]


def test_check_bundle_rejects_wheels_for_another_python(tmp_path):
    run = _load_run()
    (tmp_path / "wheels").mkdir()
    with zipfile.ZipFile(
        tmp_path / "wheels" / "pydantic_core-2.50.5-cp311-cp311-manylinux_2_17_x86_64.whl", "w"
    ) as z:
        z.writestr("pydantic_core/__init__.py", "")
    assert run.check_bundle(tmp_path)["wrong_python_wheels"] == [
        "pydantic_core-2.50.5-cp311-cp311-manylinux_2_17_x86_64.whl"
    ]


def test_cpu_smoke_writes_report(tmp_path, shared_data):
    out, state = tmp_path / "out", tmp_path / "state"
    flags = shlex.split(
        "--cpu-smoke --dataset umls --models complex rgcn --check-batch 4 --ckpt-steps 2 "
        "--speed-warmup 1 --speed-steps 1 --profile-steps 1 --eval-limit 40 "
        "--quality complex:umls:1 --quality-max-steps 2 --threads 1"
    )
    cmd = [sys.executable, str(RUN), *flags, "--out", str(out), "--state-dir", str(state)]
    cmd += ["--carry", str(tmp_path / "no-carry")]
    env = {**os.environ, "KG_SHARED_DATA": str(shared_data), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["errors"] == []
    assert {"meta", "imports", "correctness", "speed", "profile", "evaluation", "quality"} <= set(
        report
    )
    assert report["meta"]["device"] == "cpu" and report["meta"]["data"]["name"] == "umls"
    checks = report["correctness"]["loss_and_gradients"]
    assert set(checks) == {"complex", "rgcn"}
    assert all("no CUDA" in row["skipped"] and row["cpu_loss"] > 0 for row in checks.values())
    assert 0 < report["correctness"]["checkpoint_mrr"]["cpu"]["mrr"] <= 1
    for name in ("complex", "rgcn"):
        assert report["speed"][name]["steps"] == 1 and report["speed"][name]["queries_per_s"] > 0
        assert report["profile"][name] and report["profile"][name][0]["op"].startswith("aten::")
    assert report["evaluation"]["count"] == 80  # 40 test triples x 2 directions
    quality = report["quality"]["complex:umls"]
    assert quality["steps"] == 2 and 0 < quality["test"]["mrr"] <= 1
    assert (out / "run.log").is_file() and "=== complex" in (out / "profile.txt").read_text()

    # the same command resumes the time-boxed run instead of starting over
    cmd[cmd.index("--quality-max-steps") + 1] = "4"
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((out / "report.json").read_text())["quality"]["complex:umls"]["steps"] == 4
