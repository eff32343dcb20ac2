"""A kg serve server on a free loopback port, over the demo graph with all four kinds of fact."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from rdflib import URIRef

from kg_engine.api import KnowledgeGraph
from kg_engine.core.provenance import Provenance
from kg_engine.serve import ServerConfig, create_app

DATA = Path(__file__).resolve().parents[2] / "data" / "sample" / "university.ttl"
EX = "https://example.org/kg/"
SENTENCE = "Ada Whitcombe teaches in the Department of Computer Science."
EXTRACTED = (URIRef(EX + "ada"), URIRef(EX + "memberOf"), URIRef(EX + "CompSci"))
PREDICTED = (URIRef(EX + "ada"), URIRef(EX + "advisor"), URIRef(EX + "grace"))
INFERRED = (URIRef(EX + "ada"), URIRef(EX + "collaborator"), URIRef(EX + "chen"))
PEOPLE_QUERY = f"""PREFIX ex: <{EX}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?p ?name WHERE {{ ?p a ex:Professor ; rdfs:label ?name }} ORDER BY ?name"""


def build_demo_store(url: str) -> None:
    """The sample university graph, OWL 2 RL inferences, one extracted fact (with its sentence)
    and one GNN prediction (its checkpoint is gone, so the recorded score explains it)."""
    with KnowledgeGraph(url) as kg:
        kg.load(DATA)
        kg.reason("owl-rl")
        kg.add([EXTRACTED], graph="urn:kg-engine:extracted:demo", provenance=Provenance(
            kind="extracted", source="doc-1", sentence=0, start=200, end=200 + len(SENTENCE),
            text=SENTENCE, agent="kg_relation_extractor", version="1.0", confidence=0.87,
            detail=json.dumps({"sentence_start": 200, "sentence_end": 200 + len(SENTENCE),
                               "head": [200, 213], "tail": [229, 259]})))
        kg.add([PREDICTED], graph="urn:kg-engine:predicted:nbfnet", provenance=Provenance(
            kind="predicted", source="/nonexistent/checkpoint", agent="nbfnet", confidence=0.71))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    config: ServerConfig
    app: object

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """``serve(db_url, **config)`` starts a server in a thread on a free port."""
    import uvicorn

    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(db: str, **options: object) -> Server:
        config = ServerConfig(db, **options)  # type: ignore[arg-type]
        app = create_app(config, KnowledgeGraph)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        running.append((server, thread))
        return Server(f"http://127.0.0.1:{port}", config, app)

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A demo store file (built once per session; tests that write copy it)."""
    path = tmp_path_factory.mktemp("serve-demo") / "demo.sqlite"
    url = f"sqlite:///{path}"
    build_demo_store(url)
    return url


@pytest.fixture
def demo_copy(demo_db: str, tmp_path: Path) -> str:
    """A private copy of the demo store (for tests that write)."""
    import shutil

    src = Path(demo_db[len("sqlite:///"):])
    dst = tmp_path / "demo.sqlite"
    with KnowledgeGraph(demo_db) as kg:
        kg.store.checkpoint()
    shutil.copy(src, dst)
    return f"sqlite:///{dst}"
