"""``kg train-re CONFIG [--section.key value …] [--output DIR]`` — train a relation extractor.

Example:
    kg train-re pipelines/re_cnn.cfg --training.max_epochs 10 --output runs/cnn
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kg_engine.errors import KgEngineError


def register(app: typer.Typer) -> None:
    """Add the ``train-re`` command to ``app``."""

    @app.command(
        "train-re",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def train_re_cmd(
        ctx: typer.Context,
        config: Path = typer.Argument(..., help="training config (pipelines/re_*.cfg)"),
        output: Path | None = typer.Option(None, "--output", "-o", help="output folder"),
    ) -> None:
        """Train the kg_relation_extractor described by CONFIG; extra --section.key value
        options override config values. Writes OUTPUT/model-best, config.cfg, metrics.json."""
        try:
            from spacy.util import parse_config_overrides

            from kg_engine.extraction.training.re import load_re_config, train_re

            try:
                overrides = parse_config_overrides(list(ctx.args))
            except SystemExit as exc:  # spaCy's parser exits on malformed options
                raise typer.Exit(2) from exc
            cfg = load_re_config(config, overrides=overrides)
            metrics = train_re(cfg, output=output, log=lambda m: typer.echo(m, err=True))
        except (KgEngineError, FileNotFoundError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        summary = {k: v for k, v in metrics.items() if k not in ("history",)}
        typer.echo(json.dumps(summary, indent=2, default=str))
