"""``kg eval-re MODEL --dataset semeval|conll04 [--ner NER_DIR]`` — score a relation extractor.

SemEval: official macro-F1 (9 relations, direction counted, Other excluded). CoNLL04: strict
micro/macro relation F1 (spans + types + label must match); with ``--ner`` the entities come from
that spaCy pipeline (end-to-end), otherwise the gold entities are used (reported as such).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kg_engine.errors import KgEngineError


def register(app: typer.Typer) -> None:
    """Add the ``eval-re`` command to ``app``."""

    @app.command("eval-re")
    def eval_re_cmd(
        model: Path = typer.Argument(..., help="trained pipeline folder (OUTPUT/model-best)"),
        dataset: str = typer.Option(..., "--dataset", "-d", help="semeval | conll04"),
        split: str = typer.Option("test", "--split", help="test | dev"),
        ner: Path | None = typer.Option(None, "--ner", help="conll04: NER pipeline for end-to-end scoring"),
    ) -> None:
        """Score MODEL on the test split of DATASET; prints JSON (fractions in 0–1)."""
        try:
            from kg_engine.extraction.training.re import evaluate_re

            res = evaluate_re(model, dataset, split=split, ner=ner)
        except (KgEngineError, FileNotFoundError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(json.dumps(res, indent=2, default=str))
