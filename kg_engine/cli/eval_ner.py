"""``kg eval-ner MODEL --data FILE`` — strict NER scores of a saved pipeline on gold tokens.

Scores are the standard strict ones (a predicted entity counts only if start, end and type
match), micro and macro F1 over the entity types; data in SpERT/CoNLL04 JSON or spaCy DocBin.
Without ``--data`` the CoNLL04 test split under ``$KG_SHARED_DATA`` is used.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kg_engine.cli.common import report
from kg_engine.errors import KgEngineError


def register(app: typer.Typer) -> None:
    """Add the ``eval-ner`` command to ``app``."""

    @app.command("eval-ner")
    def eval_ner_cmd(
        model: str = typer.Argument(..., help="NER pipeline folder (OUTPUT/model-best) or package"),
        data: Path | None = typer.Option(None, "--data", "-d",
                                         help="gold file (default: CoNLL04 test)"),
    ) -> None:
        """Score MODEL on DATA; prints JSON (fractions in 0–1)."""
        try:
            from kg_engine.extraction.training.ner_train import (
                default_conll04_path,
                evaluate_ner_model,
            )

            res = evaluate_ner_model(model, data or default_conll04_path("test"))
        except (KgEngineError, FileNotFoundError, OSError) as exc:
            report(exc)
            raise typer.Exit(2) from exc
        typer.echo(json.dumps(res, indent=2, default=str))
