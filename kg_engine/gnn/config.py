"""GNN training configuration: ``.cfg`` files (confection) validated with pydantic.

A config has four sections; ``pipelines/gnn_<model>.cfg`` are ready-made ones::

    [data]          where the triples come from: a dataset name/dir, or a store URL
    [model]         name = "complex" | "distmult" | "rgcn" | "compgcn" | "nbfnet", then the
                    model's own keyword arguments (checked against its constructor)
    [training]      seed, epochs, batch size, optimiser, early stopping, checkpoints, device
    [evaluation]    batch size of the ranking evaluation

Overrides use dotted keys (``{"training.lr": 0.05}``), as on spaCy's command line.

Example:
    >>> cfg = load_config("[model]\\nname = \\"distmult\\"\\ndim = 8\\n",
    ...                   overrides={"training.epochs": 3})
    >>> cfg.model.name, cfg.model_kwargs(), cfg.training.epochs
    ('distmult', {'dim': 8}, 3)
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kg_engine.errors import ConfigError

__all__ = [
    "DataConfig",
    "EvaluationConfig",
    "GNNConfig",
    "ModelConfig",
    "TrainingConfig",
    "load_config",
    "pipelines_dir",
    "split_overrides",
]


def pipelines_dir() -> Path:
    """The repository's ``pipelines/`` folder (ready-made configs)."""
    return Path(__file__).resolve().parents[2] / "pipelines"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Section):
    """``[data]``: a dataset (name or directory) or a store (``db`` URL, optional ``graph``)."""

    dataset: str | None = "umls"
    db: str | None = None
    graph: str | None = None
    include_literals: bool = False
    valid_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    test_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    split_seed: int = 0


class ModelConfig(BaseModel):
    """``[model]``: ``name`` plus the model's keyword arguments."""

    model_config = ConfigDict(extra="allow")
    name: str = "complex"


class TrainingConfig(_Section):
    """``[training]``: the optimisation loop."""

    seed: int = 0
    epochs: int = Field(100, ge=0)
    batch_size: int = Field(1000, ge=1)
    optimizer: Literal["adam", "adamw", "adagrad", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    grad_clip: float = Field(0.0, ge=0)
    scheduler: Literal["none", "step", "plateau"] = "none"
    scheduler_step: int = Field(50, ge=1)
    scheduler_gamma: float = Field(0.5, gt=0, le=1)
    eval_every: int = Field(5, ge=1)
    patience: int = Field(5, ge=0)
    max_minutes: float = Field(0.0, ge=0)
    max_steps: int = Field(0, ge=0)
    checkpoint_every_minutes: float = Field(5.0, ge=0)
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?|mps|xpu(:\d+)?)$")
    amp: bool = True
    num_threads: int = Field(1, ge=0)
    find_unused_parameters: bool = False


class EvaluationConfig(_Section):
    """``[evaluation]``: batch size of the filtered ranking evaluation; ``range_filter``:
    rank only candidates whose ``rdf:type`` fits the relation (:mod:`kg_engine.gnn.ranges`;
    no effect on data without ``rdf:type``)."""

    batch_size: int = Field(256, ge=1)
    test: bool = True
    range_filter: bool = True


class GNNConfig(_Section):
    """The whole validated config."""

    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)

    def model_kwargs(self) -> dict[str, Any]:
        """The ``[model]`` keys other than ``name`` (the model constructor's kwargs)."""
        return {k: v for k, v in (self.model.model_extra or {}).items()}

    def to_str(self) -> str:
        """The config as ``.cfg`` text (saved beside every checkpoint)."""
        from confection import Config

        sections = {
            "data": self.data.model_dump(),
            "model": {"name": self.model.name, **self.model_kwargs()},
            "training": self.training.model_dump(),
            "evaluation": self.evaluation.model_dump(),
        }
        return Config(sections).to_str()


def split_overrides(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Normalise overrides: ``training.lr`` / ``training__lr`` keys, or a bare key that
    names exactly one field of ``data``/``training``/``evaluation`` (``epochs=5``).

    Raises:
        ConfigError: a bare key that matches no section or several.
    """
    out: dict[str, Any] = {}
    fields = {
        "data": DataConfig.model_fields,
        "training": TrainingConfig.model_fields,
        "evaluation": EvaluationConfig.model_fields,
    }
    for key, value in (overrides or {}).items():
        key = key.replace("__", ".")
        if "." not in key:
            owners = [s for s, f in fields.items() if key in f]
            if len(owners) != 1:
                raise ConfigError(
                    f"override {key!r} is ambiguous or unknown; write it as 'section.key' "
                    f"(sections: data, model, training, evaluation)"
                )
            key = f"{owners[0]}.{key}"
        out[key] = value
    return out


def load_config(
    config: str | Path | dict[str, Any] | GNNConfig | None = None,
    overrides: dict[str, Any] | None = None,
) -> GNNConfig:
    """Read and validate a GNN config.

    Args:
        config: a path to a ``.cfg`` file; a ready-made name (``"complex"`` ->
            ``pipelines/gnn_complex.cfg``); ``.cfg`` text; a dict; a :class:`GNNConfig`;
            or ``None`` for the defaults.
        overrides: dotted-key overrides (see :func:`split_overrides`).

    Returns:
        The validated config.

    Raises:
        ConfigError: unreadable file, unknown section/key, wrong type (the message names
            the key and the expected value).
    """
    from confection import Config

    overrides = split_overrides(overrides)
    source = "<config>"
    try:
        if isinstance(config, GNNConfig):
            raw: dict[str, Any] = Config(
                {
                    "data": config.data.model_dump(),
                    "model": {"name": config.model.name, **config.model_kwargs()},
                    "training": config.training.model_dump(),
                    "evaluation": config.evaluation.model_dump(),
                }
            )
        elif isinstance(config, dict):
            raw = Config(config)
        elif config is None:
            raw = Config()
        else:
            text = str(config)
            path = Path(text)
            named = pipelines_dir() / f"gnn_{text.lower()}.cfg"
            if "\n" not in text and path.suffix == ".cfg":
                if not path.is_file():
                    raise ConfigError(f"config file {path} does not exist")
                source = str(path)
                raw = Config().from_disk(path)
            elif "\n" not in text and named.is_file():
                source = str(named)
                raw = Config().from_disk(named)
            elif "[" in text:
                raw = Config().from_str(text)
            else:
                raise ConfigError(
                    f"config {text!r} is neither a .cfg file nor a ready-made name; "
                    f"ready-made: {', '.join(sorted(p.stem[4:] for p in pipelines_dir().glob('gnn_*.cfg')))}"
                )
        raw = _apply_overrides(raw, overrides)
    except ConfigError:
        raise
    except Exception as exc:  # confection raises several types for syntax errors
        raise ConfigError(f"{source}: cannot parse config: {exc}") from exc
    unknown = set(raw) - {"data", "model", "training", "evaluation"}
    if unknown:
        raise ConfigError(
            f"{source}: unknown section(s) {sorted(unknown)}; expected data, model, training, evaluation"
        )
    try:
        cfg = GNNConfig.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{source}: invalid config: {problems}") from None
    _check_model_kwargs(cfg, source)
    return cfg


def _apply_overrides(raw: Any, overrides: dict[str, Any]) -> Any:
    from confection import Config

    data = {k: dict(v) for k, v in dict(raw).items()}
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        if not name or "." in name:
            raise ConfigError(f"override {key!r} must be 'section.key'")
        data.setdefault(section, {})[name] = value
    return Config(data)


def _check_model_kwargs(cfg: GNNConfig, source: str) -> None:
    from kg_engine.gnn.models import get_model_class

    cls = get_model_class(cfg.model.name)
    params = inspect.signature(cls.__init__).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    valid = [n for n in params if n not in ("self", "num_entities", "num_relations")]
    for key in cfg.model_kwargs():
        if key not in valid and not accepts_any:
            raise ConfigError(
                f"{source}: model.{key} is not an argument of {cls.__name__}; "
                f"valid: {', '.join(valid)}"
            )
