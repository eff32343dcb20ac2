"""Tests of kg_engine.extraction.distributed: extraction on a real local Ray cluster.

The cluster is started with ``ray start --head --block`` on loopback with 2 CPUs (two worker
actors), in its own process group and temp folder, and stopped by killing that group: never
``ray stop``, which would stop every Ray instance on the machine.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import RDFS
from typer.testing import CliRunner

from kg_engine.errors import ConfigError, MissingDependencyError
from kg_engine.extraction.corpus import iter_documents
from kg_engine.store import SQLStore

DATA = Path(__file__).resolve().parents[2] / "data"
CORPUS = DATA / "demo_corpus.jsonl"
#: Ray resolves 127.0.0.1 to the machine's outward address unless told otherwise: keep the
#: test cluster (and the driver's view of it) on loopback. Token authentication with a token
#: of this run only (never ~/.ray/auth_token, which a Ray on this machine may share).
_LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
             "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_group(proc: subprocess.Popen) -> None:
    """End ``ray start`` and every process of its group (GCS, raylet, …), waiting for them:
    a dying raylet still writes into the temp folder removed afterwards."""
    os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        proc.poll()
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


@pytest.fixture(scope="module")
def ray_env() -> Iterator[None]:
    """Ray's settings for these tests (loopback, a token of this run), set before ray reads
    them."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'kg-engine[ray]')")
    imported = "ray" in sys.modules
    saved = {k: os.environ.get(k) for k in _LOOPBACK}
    os.environ.update(_LOOPBACK)
    from ray._private import ray_constants

    cluster_flag = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    if imported:  # ray read its config at import: make it read the token settings again
        from ray._private.authentication.authentication_token_setup import _enable_token_auth
        from ray._raylet import AuthenticationTokenLoader

        _enable_token_auth()
        AuthenticationTokenLoader.instance().reset_cache()
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = cluster_flag
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def ray_cluster(ray_env) -> Iterator[str]:
    """The address of a 2-CPU Ray head node on 127.0.0.1, stopped after the module."""
    exe = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    if not os.path.exists(exe):
        pytest.skip("the `ray` command is not installed")
    temp = tempfile.mkdtemp(prefix="kgray-")  # short: Ray's unix socket paths must fit
    port = _free_port()
    log = open(os.path.join(temp, "start.log"), "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [exe, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port",
         str(port), "--num-cpus", "2", "--include-dashboard", "false", "--temp-dir", temp,
         "--object-store-memory", "150000000", "--disable-usage-stats"],
        env={**os.environ, **_LOOPBACK}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(os.path.join(temp, "ray_current_cluster")):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("ray start failed: " + Path(temp, "start.log").read_text()[-2000:])
            time.sleep(0.2)
        yield address
    finally:
        import ray

        from kg_engine.extraction.distributed import release_workers

        release_workers()
        if ray.is_initialized():
            ray.shutdown()
        _stop_group(proc)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def pipeline():
    """The SemEval relation pipeline: NER + a CNN relation model with confidences."""
    from kg_engine.extraction.pipeline import load_extraction_pipeline

    try:
        return load_extraction_pipeline("re_semeval")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"re_semeval pipeline not loadable here: {exc}")


def _docs():
    return iter_documents([CORPUS])


def _state(store: SQLStore) -> tuple:
    """Statements, every provenance row (ids resolved to terms) and the document records."""
    quads = sorted(tuple(map(str, q)) for q in store.triples((None, None, None)))
    prov = sorted(
        (tuple(map(str, q)), repr(p)) for q in store.triples((None, None, None))
        for p in store.provenance_of(q))
    docs = store.db.fetchall("SELECT doc_id, hash, pipeline, triples FROM "
                             "kg_extraction_documents ORDER BY doc_id")
    return quads, prov, docs


def test_ray_extraction_is_identical_to_single_process(ray_cluster, pipeline, tmp_path) -> None:
    from kg_engine.extraction.distributed import RayExtractionRunner
    from kg_engine.extraction.ingest import extract_into
    from kg_engine.extraction.runner import ExtractionRunner

    with SQLStore(f"sqlite:///{tmp_path / 'one.sqlite'}") as one, \
            SQLStore(f"sqlite:///{tmp_path / 'ray.sqlite'}") as dist:
        r1 = extract_into(one, _docs(), pipeline, batch_size=2, progress=False)
        r2 = extract_into(dist, _docs(), pipeline, batch_size=2, progress=False,
                          executor="ray", ray_address=ray_cluster)
        assert (r2.documents, r2.triples, r2.added, r2.entities, r2.words) == \
            (r1.documents, r1.triples, r1.added, r1.entities, r1.words)
        assert r1.documents == 8 and r1.triples > 50
        expected = _state(one)
        assert _state(dist) == expected
        # the comparison covers offsets, model and confidence, not only the statements
        rows = dist.db.fetchall("SELECT start, \"end\", agent, version, confidence "
                                "FROM kg_provenance")
        assert all(r[0] is not None and r[2] for r in rows)
        assert any(r[4] is not None for r in rows)  # relation confidences
    # the runner itself: two workers, same results in corpus order
    docs = list(_docs())
    runner = RayExtractionRunner(pipeline.nlp, pipeline.converter, address=ray_cluster,
                                 batch_size=3, progress=False)
    got = list(runner.run(docs))
    want = list(ExtractionRunner(pipeline.nlp, pipeline.converter, batch_size=3,
                                 progress=False).run(docs))
    assert runner.used_workers == 2
    # a corpus of one chunk starts one worker, not one per CPU
    one = RayExtractionRunner(pipeline.nlp, pipeline.converter, address=ray_cluster,
                              batch_size=len(docs), progress=False)
    assert [r.doc_id for r in one.run(docs)] == [d.id for d in docs]
    assert one.used_workers == 1
    assert [r.doc_id for r in got] == [d.id for d in docs]
    assert [(r.doc_id, list(r.batch), r.entities) for r in got] == \
        [(r.doc_id, list(r.batch), r.entities) for r in want]


def test_workers_are_kept_for_the_next_run_of_the_same_pipeline(ray_cluster, pipeline) -> None:
    """A second run with the same pipeline reuses the actors (no start, no shipping) and gives
    the same results, even after the pipeline ran locally (its vocabulary grew); another
    pipeline replaces them; a Ray shut down by the caller, ``keep_workers=False`` and
    :func:`release_workers` are handled."""
    import ray

    from kg_engine.extraction import distributed
    from kg_engine.extraction.distributed import RayExtractionRunner, release_workers
    from kg_engine.extraction.runner import ExtractionRunner
    from kg_engine.extraction.to_rdf import DocConverter, RDFMapping

    docs = list(_docs())

    def run(converter=pipeline.converter, **kw):
        runner = RayExtractionRunner(pipeline.nlp, converter, address=ray_cluster,
                                     batch_size=2, progress=False, **kw)
        out = [(r.doc_id, list(r.batch), r.entities) for r in runner.run(docs)]
        ids = [a._actor_id for a in distributed._POOL.actors] if distributed._POOL else None
        return runner, out, ids

    release_workers()
    first, out1, ids1 = run()
    assert first.started_workers and first.used_workers == 2 and len(ids1) == 2
    want = [(r.doc_id, list(r.batch), r.entities) for r in
            ExtractionRunner(pipeline.nlp, pipeline.converter, batch_size=2,
                             progress=False).run(docs)]
    again, out2, ids2 = run()
    assert not again.started_workers and ids2 == ids1
    assert out1 == out2 == want
    # another converter is another pipeline: the pool is replaced (the old actors free
    # their CPUs first, else the new ones could not start on this 2-CPU cluster)
    other, out3, ids3 = run(DocConverter.for_pipeline(pipeline.nlp,
                                                      RDFMapping(label_triples=False)))
    assert other.started_workers and not set(ids3) & set(ids1)
    assert out3 != out1 and all(q[1] != RDFS.label for _, batch, _ in out3 for q, _ in batch)
    ray.shutdown()  # the caller ends Ray: the kept actors went with it
    fresh, out4, _ = run()
    assert fresh.started_workers and out4 == want
    _, out5, ids5 = run(keep_workers=False)
    assert out5 == want and ids5 is None and not ray.is_initialized()
    run()
    release_workers()
    assert distributed._POOL is None and not ray.is_initialized()


def test_a_torch_free_pipeline_starts_its_workers_without_torch(ray_cluster, pipeline,
                                                               monkeypatch) -> None:
    """A pipeline of spaCy's own components and the label mapper (and the default's relation
    patterns, kg_engine/extraction/pattern_relations.py) is unpickled in the actors with
    ``import torch`` blocked (≈ 1 CPU-s less per worker start) and gives the same triples; one
    with a CNN relation model is not; a pipeline wrongly thought torch-free still runs."""
    import ray
    import spacy

    from kg_engine.extraction import distributed
    from kg_engine.extraction.distributed import (
        RayExtractionRunner,
        _needs_torch,
        release_workers,
    )
    from kg_engine.extraction.pipeline import load_extraction_pipeline
    from kg_engine.extraction.runner import ExtractionRunner

    try:
        default = load_extraction_pipeline("default")
        plain = load_extraction_pipeline("default", {"pipeline.pattern_relations": None})
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"default pipeline not loadable here: {exc}")
    assert not _needs_torch(plain.nlp) and _needs_torch(pipeline.nlp)
    blank = spacy.blank("en")
    blank.add_pipe("textcat")  # not on the list of torch-free components
    assert _needs_torch(blank)
    docs = list(_docs())

    def both(p):
        runner = RayExtractionRunner(p.nlp, p.converter, address=ray_cluster, batch_size=3,
                                     progress=False)
        got = [(r.doc_id, list(r.batch), r.entities) for r in runner.run(docs)]
        want = [(r.doc_id, list(r.batch), r.entities) for r in
                ExtractionRunner(p.nlp, p.converter, batch_size=3, progress=False).run(docs)]
        assert got == want and sum(len(b) for _, b, _ in got) > 20

    def torch_modules(worker):
        return sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))

    both(plain)
    actors = distributed._POOL.actors
    assert ray.get([a.__ray_call__.remote(torch_modules) for a in actors]) == [[], []]
    assert not _needs_torch(default.nlp)
    # an actor retries with torch when its pipeline needs torch after all (here: the CNN
    # relation model, taken for torch-free)
    release_workers()
    monkeypatch.setattr(distributed, "_needs_torch", lambda nlp: False)
    both(pipeline)


def test_ray_extraction_resumes_after_a_writer_failure(ray_cluster, pipeline, tmp_path,
                                                      monkeypatch) -> None:
    """The driver dies while writing document 5: documents 1-4 are stored, the checkpoint
    names them, and a re-run on the cluster completes to the single-process result."""
    from kg_engine.extraction.ingest import extract_into

    ckpt = tmp_path / "ckpt.jsonl"
    url = f"sqlite:///{tmp_path / 'kg.sqlite'}"
    with SQLStore(url) as store:
        real, calls = store.add_batch, []

        def failing_add_batch(batch):
            calls.append(1)
            if len(calls) == 5:
                raise OSError("disk full (simulated)")
            return real(batch)

        monkeypatch.setattr(store, "add_batch", failing_add_batch)
        with pytest.raises(OSError, match="disk full"):
            extract_into(store, _docs(), pipeline, batch_size=2, progress=False,
                         executor="ray", ray_address=ray_cluster, checkpoint=str(ckpt))
        stored = [r[0] for r in store.db.fetchall(
            "SELECT doc_id FROM kg_extraction_documents ORDER BY doc_id")]
        ids = [d.id for d in _docs()]
        assert stored == sorted(ids[:4])
        assert [json.loads(x)["id"] for x in ckpt.read_text().splitlines()] == ids[:4]
        monkeypatch.undo()
        again = extract_into(store, _docs(), pipeline, batch_size=2, progress=False,
                             executor="ray", ray_address=ray_cluster, checkpoint=str(ckpt))
        assert (again.documents, again.skipped) == (4, 4)
        resumed = _state(store)
    with SQLStore(f"sqlite:///{tmp_path / 'ref.sqlite'}") as ref:
        extract_into(ref, _docs(), pipeline, batch_size=2, progress=False)
        assert _state(ref) == resumed


def test_cli_address_auto_joins_the_running_cluster(ray_cluster, tmp_path, monkeypatch) -> None:
    """``kg extract --executor ray --address auto`` finds the cluster (``RAY_ADDRESS``, as
    ``ray start`` prints it) and writes every document with provenance."""
    from kg_engine.cli.app import app

    monkeypatch.setenv("RAY_ADDRESS", ray_cluster)
    db = f"sqlite:///{tmp_path / 'ray.sqlite'}"
    res = CliRunner().invoke(app, ["extract", str(CORPUS), "--executor", "ray", "--address",
                                   "auto", "--batch-size", "3", "--db", db])
    assert res.exit_code == 0, res.output
    assert "from 8 document(s)" in " ".join(res.output.split())
    with SQLStore(db) as store:
        assert store.db.scalar("SELECT count(*) FROM kg_extraction_documents") == 8
        assert store.db.scalar("SELECT count(DISTINCT source) FROM kg_provenance "
                               "WHERE kind = 'extracted'") == 8


def test_unreachable_cluster_is_one_clear_error(ray_env, tmp_path, monkeypatch) -> None:
    from kg_engine.cli.app import app
    from kg_engine.extraction.distributed import connect

    nowhere = f"127.0.0.1:{_free_port()}"
    started = time.monotonic()
    with pytest.raises(ConfigError, match=f"no Ray cluster is reachable at {nowhere}"):
        connect(nowhere)
    monkeypatch.setenv("RAY_ADDRESS", nowhere)  # `auto` resolves to a stale address
    with pytest.raises(ConfigError, match="ray start --head"):
        connect("auto")
    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        connect("no-port-here")
    assert time.monotonic() - started < 30  # not ray.init's minutes of retries
    db = tmp_path / "kg.sqlite"
    res = CliRunner().invoke(app, ["extract", str(CORPUS), "--executor", "ray", "--address",
                                   nowhere, "--db", f"sqlite:///{db}"])
    assert res.exit_code == 2, res.output
    assert "no Ray cluster is reachable" in res.output and "Traceback" not in res.output
    assert not db.exists()  # the store the failing command created is removed again


def test_missing_ray_names_the_extra(monkeypatch, tmp_path) -> None:
    from kg_engine.cli.app import app
    from kg_engine.extraction import distributed

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'kg-engine\[ray\]'"):
        distributed.connect("auto")
    res = CliRunner().invoke(app, ["extract", str(CORPUS), "--executor", "ray",
                                   "--db", f"sqlite:///{tmp_path / 'kg.sqlite'}"])
    assert res.exit_code == 2 and "pip install 'kg-engine[ray]'" in res.output, res.output


@pytest.mark.parametrize("args, message", [
    (["--executor", "dask"], "--executor must be local or ray"),
    (["--address", "auto"], "--address needs --executor ray"),
])
def test_cli_rejects_bad_executor_options(args, message, tmp_path) -> None:
    from kg_engine.cli.app import app

    res = CliRunner().invoke(app, ["extract", str(CORPUS), *args,
                                   "--db", f"sqlite:///{tmp_path / 'kg.sqlite'}"])
    assert res.exit_code == 2 and message in res.output, res.output


def test_a_dead_worker_is_one_clear_error(ray_cluster) -> None:
    """A worker lost mid-run (node gone, out of memory) ends the run with a KgEngineError
    that says the finished documents are kept, not with Ray's traceback."""
    import pickle

    import ray
    import spacy

    from kg_engine.errors import KgEngineError
    from kg_engine.extraction.distributed import _get, _Worker, connect, release_workers
    from kg_engine.extraction.to_rdf import DocConverter

    nlp = spacy.blank("en")
    release_workers()  # the actors earlier tests kept hold the cluster's two CPUs
    assert connect(ray_cluster)
    try:
        actor = ray.remote(num_cpus=1)(_Worker).remote(
            pickle.dumps((nlp, DocConverter.for_pipeline(nlp))))
        assert _get(ray, actor.process.remote([], 2)) == []
        ray.kill(actor)
        with pytest.raises(KgEngineError, match="worker died.*re-run the same command") as err:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # the kill is asynchronous: a call may
                _get(ray, actor.process.remote([], 2))  # still get through before it lands
                time.sleep(0.2)
        assert "\n" not in str(err.value)
    finally:
        release_workers()
