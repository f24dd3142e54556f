"""The one strict base of every config model: unknown keys are errors, loaded values are immutable.

It lives in ``models`` (the bottom of the import graph) so hardware, models, edge and backend configs share it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base for config models: ``extra="forbid"`` and frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
