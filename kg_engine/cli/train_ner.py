"""``kg train-ner CONFIG [--section.key value …] [--output DIR]`` — train a NER model.

The config (``pipelines/ner_*.cfg``) trains either the BiLSTM-CRF ``kg_ner_tagger`` or spaCy's
``ner``; see :mod:`kg_engine.extraction.training.ner_train`.

Example:
    kg train-ner pipelines/ner_bilstm_crf.cfg --training.max_epochs 10 --output runs/ner
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kg_engine.cli.common import report
from kg_engine.errors import KgEngineError


def register(app: typer.Typer) -> None:
    """Add the ``train-ner`` command to ``app``."""

    @app.command(
        "train-ner",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def train_ner_cmd(
        ctx: typer.Context,
        config: Path = typer.Argument(..., help="training config (pipelines/ner_*.cfg)"),
        output: Path | None = typer.Option(None, "--output", "-o", help="output folder"),
    ) -> None:
        """Train the NER described by CONFIG; extra --section.key value options override config
        values. Writes OUTPUT/model-best (spacy.load-able), config.cfg, metrics.json."""
        try:
            from kg_engine.cli.train_re import parse_overrides
            from kg_engine.extraction.training.ner_train import (
                load_ner_config,
                train_ner_from_config,
            )

            overrides = parse_overrides(list(ctx.args))
            cfg = load_ner_config(config, overrides=overrides)
            metrics = train_ner_from_config(cfg, output=output, log=lambda m: typer.echo(m, err=True))
        except (KgEngineError, FileNotFoundError) as exc:
            report(exc)
            raise typer.Exit(2) from exc
        summary = {k: v for k, v in metrics.items() if k != "history"}
        typer.echo(json.dumps(summary, indent=2, default=str))
