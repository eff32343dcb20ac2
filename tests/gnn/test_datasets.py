"""Split-format loader: local files only, labels, errors with file and line."""

from __future__ import annotations

import pytest

from kg_engine.errors import ConfigError, InputSyntaxError
from kg_engine.gnn.datasets import KGCDataset, load_dataset


def test_umls_counts_and_labels(kgc_dir):
    data = load_dataset("umls")
    assert (len(data.train), len(data.valid), len(data.test)) == (5216, 652, 661)
    assert data.num_entities == 135 and data.num_relations == 46
    assert data.entity_labels and data.entity_label(data.entity_id("idea_or_concept")) == "idea or concept"
    assert data.relation_labels and data.relation_label(data.relation_id("derivative_of")) == "derivative of"


def test_dataset_class_and_directory(kgc_dir):
    ds = KGCDataset(kgc_dir / "nations")
    assert ds.name == "nations" and ds.data.num_entities == 14
    assert ds.data.entity_labels is None


def test_unseen_test_entities_are_ranked(tmp_path):
    (tmp_path / "train.txt").write_text("a\tp\tb\n")
    (tmp_path / "valid.txt").write_text("")
    (tmp_path / "test.txt").write_text("a\tp\tz\n")
    data = load_dataset(tmp_path)
    assert data.entities == ["a", "b", "z"] and data.test.tolist() == [[0, 0, 2]]


def test_bad_line_names_file_and_line(tmp_path):
    (tmp_path / "train.txt").write_text("a\tp\tb\na p b\n")
    with pytest.raises(InputSyntaxError) as err:
        load_dataset(tmp_path)
    assert "train.txt:2" in str(err.value)


def test_unknown_dataset():
    with pytest.raises(ConfigError, match="umls"):
        load_dataset("no-such-dataset")
