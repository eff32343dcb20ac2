"""Dataset readers: SemEval-2010 T8 and CoNLL04 (SpERT JSON)."""

from __future__ import annotations

import json

import pytest

spacy = pytest.importorskip("spacy")

from kg_engine.errors import ConfigError, InputSyntaxError
from kg_engine.extraction.training.re_data import (
    load_dataset,
    parse_semeval_block,
    read_conll04,
    read_semeval,
    shared_data_dir,
)


def test_semeval_block_direction_and_entities() -> None:
    nlp = spacy.blank("en")
    ex = parse_semeval_block(
        nlp, '7\t"The <e1>company</e1> fabricates plastic <e2>chairs</e2>."', "Product-Producer(e2,e1)")
    ref = ex.reference
    assert [e.text for e in ref.ents] == ["company", "chairs"]
    assert ref._.rel == {(4, 1): {"Product-Producer": 1.0}}  # head = e2 = "chairs"
    assert [e.text for e in ex.predicted.ents] == ["company", "chairs"]
    other = parse_semeval_block(nlp, '8\t"A <e1>b</e1> c <e2>d</e2>."', "Other")
    assert other.reference._.rel == {} and other.reference.user_data["semeval_label"] == "Other"


def test_semeval_file_and_errors(tmp_path) -> None:
    f = tmp_path / "T.TXT"
    f.write_text('1\t"The <e1>a</e1> of <e2>b</e2>."\nComponent-Whole(e1,e2)\nComment: x\n\n'
                 '2\t"No tags here."\nOther\nComment:\n\n', encoding="utf-8")
    with pytest.raises(InputSyntaxError) as err:
        read_semeval(f)
    assert "T.TXT:5" in str(err.value)
    f.write_text('1\t"The <e1>a</e1> of <e2>b</e2>."\nComponent-Whole\nComment:\n', encoding="utf-8")
    with pytest.raises(InputSyntaxError, match="direction"):
        read_semeval(f)


def test_conll04_reader(tmp_path) -> None:
    f = tmp_path / "c.json"
    f.write_text(json.dumps([{
        "tokens": ["John", "Smith", "works", "for", "Acme", "."],
        "entities": [{"type": "Peop", "start": 0, "end": 2}, {"type": "Org", "start": 4, "end": 5}],
        "relations": [{"type": "Work_For", "head": 0, "tail": 1}],
    }]), encoding="utf-8")
    (ex,) = read_conll04(f)
    assert [(e.text, e.label_) for e in ex.reference.ents] == [("John Smith", "Peop"), ("Acme", "Org")]
    assert ex.reference._.rel == {(0, 4): {"Work_For": 1.0}}
    f.write_text("[{", encoding="utf-8")
    with pytest.raises(InputSyntaxError, match="c.json"):
        read_conll04(f)


def test_load_dataset_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="semeval"):
        load_dataset("ace05", "train")
    with pytest.raises(FileNotFoundError, match="KG_SHARED_DATA"):
        load_dataset("conll04", "train", data_dir=tmp_path)


@pytest.mark.skipif(not (shared_data_dir() / "re" / "conll04").is_dir(), reason="shared data folder absent")
def test_real_conll04_counts() -> None:
    train = load_dataset("conll04", "test")
    assert len(train) == 288
    assert sum(len(eg.reference.ents) for eg in train) == 1079
