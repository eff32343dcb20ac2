"""spaCy finds kg-engine's component and encoder architectures by name (entry points)."""

import subprocess
import sys


def test_spacy_finds_factory_and_architectures_without_importing_kg_engine() -> None:
    code = (
        "import spacy\n"
        "spacy.blank('en')\n"
        "assert spacy.registry.factories.get('kg_relation_extractor')\n"
        "for v in ('CNN', 'PCNN', 'RNN', 'Transformer', 'PretrainedTransformer'):\n"
        "    assert spacy.registry.architectures.get(f'kg_engine.{v}Encoder.v1')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
