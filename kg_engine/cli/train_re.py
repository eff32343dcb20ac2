"""``kg train-re CONFIG [--section.key value …] [--output DIR]`` — train a relation extractor.

Example:
    kg train-re pipelines/re_cnn.cfg --training.max_epochs 10 --output runs/cnn
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from kg_engine.cli.common import report
from kg_engine.errors import ConfigError, KgEngineError


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``["--training.max_epochs", "5", "--paths.output=x"]`` → ``{"training.max_epochs": 5, …}``.

    Values are read as JSON where possible (numbers, true/false, null, lists), else as strings.

    Raises:
        ConfigError: an argument is not ``--section.key`` or lacks its value.

    Example:
        >>> parse_overrides(["--training.max_epochs", "5", "--corpora.dataset=conll04"])
        {'training.max_epochs': 5, 'corpora.dataset': 'conll04'}
    """
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or "." not in arg:
            raise ConfigError(f"unexpected argument {arg!r}; overrides look like --section.key value")
        key, sep, value = arg[2:].partition("=")
        if not sep:
            if i + 1 >= len(args):
                raise ConfigError(f"override {arg} has no value")
            value = args[i + 1]
            i += 1
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
        i += 1
    return out


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
            from kg_engine.extraction.training.re import load_re_config, train_re

            overrides = parse_overrides(list(ctx.args))
            cfg = load_re_config(config, overrides=overrides)
            metrics = train_re(cfg, output=output, log=lambda m: typer.echo(m, err=True))
        except (KgEngineError, FileNotFoundError) as exc:
            report(exc)
            raise typer.Exit(2) from exc
        summary = {k: v for k, v in metrics.items() if k not in ("history",)}
        typer.echo(json.dumps(summary, indent=2, default=str))
