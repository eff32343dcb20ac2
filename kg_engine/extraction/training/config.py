"""Reading and validating training configs (``pipelines/ner_*.cfg``, ``pipelines/re_*.cfg``).

Both trainers share the confection format with sections ``[paths] [corpora] [nlp] [components]
[training]``; this module parses a file with ``--section.key value`` overrides and checks the
``[training]`` settings against typed defaults, so a typo or a wrong type is a
:class:`~kg_engine.errors.ConfigError` naming the file and key.

Example:
    >>> cfg, src = read_config(None, text="[training]\\nmax_epochs = 3")
    >>> fill_training(cfg, {"max_epochs": 20, "learn_rate": 0.001}, src)["learn_rate"]
    0.001
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from confection import Config

from kg_engine.errors import ConfigError

__all__ = ["SECTIONS", "fill_training", "read_config"]

SECTIONS = frozenset({"paths", "corpora", "nlp", "components", "training"})


def read_config(path: str | Path | None, *, overrides: Mapping[str, Any] | None = None,
                text: str | None = None) -> tuple[Config, str]:
    """Parse a training config (interpolated, overrides applied) and check its sections.

    Args:
        path: the ``.cfg`` file (or ``None`` with ``text``).
        overrides: ``{"section.key": value}``.
        text: config text instead of a file.

    Returns:
        The config, with empty ``paths``/``corpora``/``nlp``/``training`` sections added when
        absent, and the name to use in messages (the path or ``"<config>"``).

    Raises:
        ConfigError: unreadable file, invalid syntax, unknown section.
    """
    src = str(path) if path is not None else "<config>"
    try:
        if text is None:
            if path is None:
                raise ConfigError("no config: give a file or the config text")
            text = Path(path).read_text(encoding="utf-8")
        cfg = Config().from_str(text, overrides=dict(overrides or {}), interpolate=True)
    except FileNotFoundError as exc:
        raise ConfigError(f"{src}: config file not found") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{src}: is a directory, expected a .cfg file") from exc
    except ConfigError:
        raise
    except Exception as exc:  # confection raises its own parse/validation errors
        raise ConfigError(f"{src}: invalid config: {exc}") from exc
    unknown = set(cfg) - SECTIONS
    if unknown:
        raise ConfigError(f"{src}: unknown section(s) {sorted(unknown)}; valid: {sorted(SECTIONS)}")
    for sec in ("paths", "corpora", "nlp", "training"):
        cfg.setdefault(sec, {})
    cfg["nlp"].setdefault("lang", "en")
    return cfg, src


def fill_training(cfg: Config, defaults: Mapping[str, Any], src: str) -> dict[str, Any]:
    """Check ``[training]`` against ``defaults``: no unknown keys, values of the defaults' types.

    Missing keys get their default; integers are accepted where a float is expected.

    Returns:
        The completed ``[training]`` section (the same dict, changed in place).

    Raises:
        ConfigError: an unknown key or a value of the wrong type (the message names both).
    """
    tr = cfg["training"]
    extra = set(tr) - set(defaults)
    if extra:
        raise ConfigError(f"{src}: unknown key(s) {sorted(extra)} in [training]; valid: {sorted(defaults)}")
    for key, default in defaults.items():
        tr[key] = _coerce(tr.get(key, default), default, f"{src}: [training] {key}")
        low = _AT_LEAST.get(key)
        if low is not None and tr[key] < low:
            raise ConfigError(f"{src}: [training] {key} must be at least {low}, got {tr[key]!r}")
        if key in _POSITIVE and tr[key] <= 0:
            raise ConfigError(f"{src}: [training] {key} must be positive, got {tr[key]!r}")
    return tr


#: Smallest valid values of [training] keys, and keys that must be > 0.
_AT_LEAST = {"max_epochs": 1, "batch_size": 1, "patience": 0, "threads": 0,
             "weight_decay": 0.0, "warmup_fraction": 0.0, "learn_rate_pretrained": 0.0}
_POSITIVE = {"learn_rate", "max_seconds"}


def _coerce(value: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    return value
