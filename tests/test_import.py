"""``import kg_engine`` stays light: no torch, spaCy or PyTorch Geometric."""

import subprocess
import sys


def test_import_does_not_load_heavy_dependencies() -> None:
    code = (
        "import sys, kg_engine, kg_engine.api, kg_engine.store, kg_engine.core, kg_engine.cli.app;"
        "heavy = [m for m in ('torch', 'spacy', 'torch_geometric') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
