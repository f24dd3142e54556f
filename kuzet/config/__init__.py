"""The shared config base, at the bottom of the import graph with the wire contract.

Every config model of hardware, models, edge, notifications and backend derives from ``StrictModel`` (unknown keys
are errors, loaded values are immutable); relative paths resolve against the config file's folder; ``load_config``
reads one YAML file into a model with one-line errors naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo

T = TypeVar("T", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for config models: ``extra="forbid"`` and frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Resolve a relative path against the config file's folder (passed as validation context)."""
    base = (info.context or {}).get("base_dir") if info.context else None
    return value if value.is_absolute() or base is None else (Path(base) / value)


class ConfigFileError(ValueError):
    """The file is missing, not YAML, or a field is invalid; the message is one line saying what to fix."""


def describe_validation_error(error: ValidationError) -> str:
    """One line naming the first invalid field and why (plus how many more errors there are)."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = error.error_count() - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return f"field '{where}': {first['msg']}{suffix}"


def load_config(path: Path, model: type[T]) -> T:
    """Parse ``path`` as YAML and validate it against ``model``.

    Raises:
        ConfigFileError: with one line that names the file and the field to fix.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigFileError(f"{path}: no such config file") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigFileError(f"{path}: not valid YAML{line}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigFileError(f"{path}: expected a mapping of settings at the top level")
    base = path.parent.resolve()
    try:
        return model.model_validate(raw, context={"base_dir": base})
    except ValidationError as exc:
        raise ConfigFileError(f"{path}: {describe_validation_error(exc)}") from exc
