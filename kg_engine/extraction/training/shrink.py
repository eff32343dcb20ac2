"""Make a trained relation-extraction pipeline small enough to ship (e.g. the demo weights).

Two loss-light steps: the word vocabulary is cut to its ``max_vocab`` most frequent entries
(the vocabulary is stored most-frequent-first, so this is a prefix; cut words become unknown),
and every floating-point tensor is stored as float16 (loaded back into float32 modules).

Reproduce the shipped demo model (``data/models/re_semeval_cnn``)::

    kg train-re pipelines/re_cnn.cfg --output runs/re_cnn_semeval
    python -m kg_engine.extraction.training.shrink runs/re_cnn_semeval/model-best \\
        data/models/re_semeval_cnn --max-vocab 4000
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from kg_engine.errors import ModelError

__all__ = ["shrink_relation_model"]

COMPONENT = "kg_relation_extractor"


def shrink_relation_model(src: str | Path, dst: str | Path, *, max_vocab: int = 4000,
                          half: bool = True) -> int:
    """Copy the pipeline at ``src`` to ``dst`` with a cut vocabulary and float16 weights.

    Args:
        src: a pipeline folder saved by ``kg train-re`` (``…/model-best``).
        dst: output folder (replaced).
        max_vocab: vocabulary entries to keep (including padding, unknown and markers).
        half: store floating-point weights as float16.

    Returns:
        Size of the weights file in bytes.

    Raises:
        ModelError: ``src`` is not a saved relation-extraction pipeline.
    """
    import torch

    src, dst = Path(src), Path(dst)
    comp = src / COMPONENT
    if not (comp / "meta.json").is_file() or not (comp / "model.pt").is_file():
        raise ModelError(f"{src}: not a saved pipeline with a {COMPONENT} component")
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    meta = json.loads((comp / "meta.json").read_text(encoding="utf-8"))
    state = torch.load(comp / "model.pt", map_location="cpu", weights_only=True)
    vocab = meta.get("encoder_meta", {}).get("vocab")
    if vocab is not None and len(vocab) > max_vocab:
        meta["encoder_meta"]["vocab"] = vocab[:max_vocab]
        state["encoder.embed.weight"] = state["encoder.embed.weight"][:max_vocab].clone()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    (dst / COMPONENT / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    torch.save(state, dst / COMPONENT / "model.pt")
    return (dst / COMPONENT / "model.pt").stat().st_size


def main() -> None:  # pragma: no cover - thin CLI
    ap = argparse.ArgumentParser(description="shrink a trained relation-extraction pipeline")
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--max-vocab", type=int, default=4000)
    ap.add_argument("--no-half", action="store_true")
    a = ap.parse_args()
    size = shrink_relation_model(a.src, a.dst, max_vocab=a.max_vocab, half=not a.no_half)
    print(f"{a.dst}: weights {size / 1e6:.2f} MB")


if __name__ == "__main__":  # pragma: no cover
    main()
