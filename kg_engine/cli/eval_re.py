"""``kg eval-re MODEL --dataset semeval|conll04 [--ner NER_DIR]`` — score a relation extractor.

SemEval: official macro-F1 (9 relations, direction counted, Other excluded). CoNLL04: strict
micro/macro relation F1 (spans + types + label must match); with ``--ner`` the entities come from
that spaCy pipeline (end-to-end), otherwise the gold entities are used (reported as such).
``--tune-threshold global|per_label`` first chooses the decision threshold(s) on the dev split
with the same entities (end-to-end tuning when ``--ner`` is given); ``--save DIR`` writes the
re-tuned relation pipeline.

Example:
    kg eval-re runs/re_cnn/model-best --dataset conll04 --ner runs/ner/model-best \
        --tune-threshold global --save runs/re_cnn/model-e2e
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kg_engine.cli.common import report
from kg_engine.errors import KgEngineError


def register(app: typer.Typer) -> None:
    """Add the ``eval-re`` command to ``app``."""

    @app.command("eval-re")
    def eval_re_cmd(
        model: Path = typer.Argument(..., help="trained pipeline folder (OUTPUT/model-best)"),
        dataset: str = typer.Option(..., "--dataset", "-d", help="semeval | conll04"),
        split: str = typer.Option("test", "--split", help="test | dev"),
        ner: Path | None = typer.Option(None, "--ner", help="conll04: NER pipeline for end-to-end scoring"),
        tune_threshold: str | None = typer.Option(
            None, "--tune-threshold", help="conll04: tune the decision threshold on dev first: global | per_label"),
        save: Path | None = typer.Option(None, "--save", help="write the (re-tuned) relation pipeline here"),
    ) -> None:
        """Score MODEL on the test split of DATASET; prints JSON (fractions in 0–1)."""
        try:
            from kg_engine.extraction.training.re import evaluate_re

            res = evaluate_re(model, dataset, split=split, ner=ner, tune_threshold=tune_threshold, save=save)
        except (KgEngineError, FileNotFoundError, OSError) as exc:
            report(exc)
            raise typer.Exit(2) from exc
        typer.echo(json.dumps(res, indent=2, default=str))
