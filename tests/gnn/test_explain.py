"""Path explanations: beam search on known importances, gradients on a trained rule model, fidelity."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from torch_geometric.data import Data

from kg_engine.gnn.explain import (
    ExplanationPath,
    PathStep,
    explain_triple,
    fidelity,
    top_paths,
)
from kg_engine.gnn.models.nbfnet import NBFNet


def diamond():
    """0 -a-> 1 -b-> 3, 0 -c-> 2 -d-> 3, 0 -e-> 3, plus 3 -f-> 4 (R = 6, inverses added)."""
    fwd = torch.tensor([[0, 0, 1], [1, 1, 3], [0, 2, 2], [2, 3, 3], [0, 4, 3], [3, 5, 4]])
    ei = torch.cat([fwd[:, [0, 2]].T, fwd[:, [2, 0]].T], 1)
    et = torch.cat([fwd[:, 1], fwd[:, 1] + 6])
    return ei, et


def test_top_paths_ranks_by_mean_importance_and_respects_max_length():
    ei, et = diamond()
    imp = torch.zeros(ei.shape[1])
    imp[0], imp[1] = 0.9, 0.7  # 0-a->1-b->3 : mean 0.8
    imp[2], imp[3] = 0.5, 0.5  # 0-c->2-d->3 : mean 0.5
    imp[4] = 0.6  # 0-e->3 : 0.6
    paths = top_paths(ei, et, imp, 0, 3, num_nodes=5, num_relations=12, k=3, max_length=3)
    got = [[(s.head, s.relation, s.tail) for s in p.steps] for p in paths]
    assert got == [[(0, 0, 1), (1, 1, 3)], [(0, 4, 3)], [(0, 2, 2), (2, 3, 3)]]
    assert paths[0].importance == pytest.approx(0.8)
    one = top_paths(ei, et, imp, 0, 3, num_nodes=5, num_relations=12, k=3, max_length=1)
    assert [[(s.head, s.relation, s.tail) for s in p.steps] for p in one] == [[(0, 4, 3)]]
    assert top_paths(ei, et, imp, 0, 4, num_nodes=5, num_relations=12, max_length=1) == []


def test_inverse_edges_render_in_stored_direction():
    ei, et = diamond()
    imp = torch.ones(ei.shape[1])
    # from 4 back to 0: walks the inverse of (3, f, 4) first
    paths = top_paths(ei, et, imp, 4, 0, num_nodes=5, num_relations=12, k=1, max_length=2)
    step = paths[0].steps[0]
    assert (step.head, step.relation, step.tail, step.inverse) == (3, 5, 4, True)
    names = ["A", "B", "C", "D", "E"]
    rels = ["a", "b", "c", "d", "e", "f"]
    assert paths[0].render(names, rels) == "E <--f-- D <--e-- A"


def test_paths_are_simple():
    ei, et = diamond()
    imp = torch.ones(ei.shape[1])
    for p in top_paths(ei, et, imp, 0, 3, num_nodes=5, num_relations=12, k=10, max_length=3):
        nodes = [0] + [s.head if s.inverse else s.tail for s in p.steps]
        assert len(set(nodes)) == len(nodes)


def _rule_model():
    """Train NBFNet on x -r0-> y -r1-> z => r2(x, z) (see tests/gnn/models/test_nbfnet.py)."""
    g = torch.Generator().manual_seed(0)
    k, n = 24, 72
    x, y, z = torch.arange(k), torch.arange(k, 2 * k), torch.arange(2 * k, 3 * k)
    full = lambda i, m: torch.full((m,), i)
    noise = torch.stack(
        [
            torch.randint(0, n, (30,), generator=g),
            full(3, 30),
            torch.randint(0, n, (30,), generator=g),
        ],
        1,
    )
    target = torch.stack([x, full(2, k), z], 1)
    train = torch.cat(
        [torch.stack([x, full(0, k), y], 1), torch.stack([y, full(1, k), z], 1), noise, target[:20]]
    )
    ei = torch.cat([train[:, [0, 2]].T, train[:, [2, 0]].T], 1)
    et = torch.cat([train[:, 1], train[:, 1] + 4])
    graph = Data(edge_index=ei, edge_type=et, num_nodes=n)
    torch.manual_seed(0)
    model = NBFNet(n, 4, hidden_dim=16, num_layers=3, aggregate_func="sum", num_negative=0)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    q = torch.cat(
        [target[:20], torch.stack([target[:20, 2], target[:20, 1] + 4, target[:20, 0]], 1)]
    )
    for _ in range(60):
        loss = model.loss(graph, q[torch.randperm(len(q))[:16]])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), graph, target[20:]


@pytest.fixture(scope="module")
def rule_model():
    return _rule_model()


def test_gradient_explanation_finds_the_rule_path(rule_model):
    model, graph, test = rule_model
    hits = 0
    for h, r, t in test.tolist():
        ex = explain_triple(model, graph, h, r, t, k=3, check_fidelity=True)
        assert ex.paths, "a path of length 2 exists"
        top = [(s.head, s.relation, s.tail) for s in ex.paths[0].steps]
        hits += top == [(h, 0, h + 24), (h + 24, 1, t)]
        assert ex.fidelity is not None and ex.fidelity.removed_edges >= 2
        assert ex.fidelity.score_after < ex.fidelity.score_before
    assert hits >= 3


def test_fidelity_of_an_irrelevant_path_is_small(rule_model):
    model, graph, test = rule_model
    h, r, t = test[0].tolist()
    good = explain_triple(model, graph, h, r, t, k=1, check_fidelity=True).fidelity
    # a fake "explanation" made of a noise edge elsewhere in the graph
    e = int((graph.edge_type == 3).nonzero()[0])
    s, d = int(graph.edge_index[0, e]), int(graph.edge_index[1, e])
    fake = ExplanationPath((PathStep(s, 3, d, False, 0.0, e),), 0.0)
    bad = fidelity(model, graph, h, r, t, [fake])
    assert good.score_drop > bad.score_drop


def test_rendering_and_errors(rule_model):
    model, graph, test = rule_model
    h, r, t = test[0].tolist()
    ex = explain_triple(model, graph, h, r, t, k=1)
    names = {i: f"e{i}" for i in range(graph.num_nodes)}
    line = ex.render(names, ["r0", "r1", "r2", "r3"])[0]
    assert line.startswith(f"e{h} --r0--> e{h + 24} --r1--> e{t}")
    d = ex.as_dict(names)
    assert d["paths"][0]["triples"][0]["relation"] == 0
    with pytest.raises(ValueError, match="out of range"):
        explain_triple(model, graph, h, 99, t)
    with pytest.raises(ValueError, match="out of range"):
        explain_triple(model, graph, 10_000, r, t)


def test_answer_query_returns_top_k_and_explains_the_best(rule_model):
    from kg_engine.gnn.explain import answer_query

    model, graph, test = rule_model
    h, r, _t = test[0].tolist()
    answers, ex = answer_query(model, graph, h, r, top_k=5, num_paths=3)
    assert len(answers) == 5 and ex.tail == answers[0][0]
    assert [a for a, _ in answers] == model(graph, torch.tensor([h]), torch.tensor([r]))[0].topk(
        5
    ).indices.tolist()
    same = explain_triple(model, graph, h, r, ex.tail, k=3)
    assert [p.steps for p in ex.paths] == [p.steps for p in same.paths]
    mask = torch.zeros(graph.num_nodes, dtype=torch.bool)
    mask[answers[0][0]] = True
    filtered, _ = answer_query(model, graph, h, r, top_k=5, filter_mask=mask)
    assert filtered[0][0] == answers[1][0]


def test_no_path_no_fidelity(rule_model):
    model, graph, test = rule_model
    ei = graph.edge_index
    for h, r, t in test.tolist():
        if not ((ei[0] == h) & (ei[1] == t)).any():  # no direct edge: no path of length 1
            ex = explain_triple(model, graph, h, r, t, k=3, max_length=1, check_fidelity=True)
            assert ex.paths == [] and ex.fidelity is None
            return
    raise AssertionError("every held-out pair has a direct edge")  # pragma: no cover
