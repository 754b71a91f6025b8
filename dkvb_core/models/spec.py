"""A registry entry: what the app, the CLI, the sweeps and the engine know of a model (no torch here)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dkvb_core.config import Config
    from dkvb_core.models.base import Learner, RunInputs


def keeps_nothing(config: Config) -> str:
    """What a model that keeps no raw past data stores."""
    return "no past samples"


Builder = Callable[["RunInputs", "ModelSpec"], "Learner"]


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: how the app, the CLI, the sweeps and the engine know a model.

    ``build`` is a ``"module:function"`` path, imported on first use so that listing models (the
    app's pickers, ``--help``) does not import torch. ``step_cost`` is the cost of one training step
    relative to the MLP's, for the run budget. ``stores`` says what raw past data the model keeps.
    ``tasks`` names the tasks the learner supports (a config choosing it for another task is refused):
    a learner that takes its gradient from ``Learner._dlogits`` supports ``regression`` as soon as
    its builder passes ``loss=loss_for(inputs)`` (see :mod:`dkvb_core.models.losses`).
    """

    name: str
    label: str
    description: str
    section: str | None
    build: str
    init_tag: int
    step_cost: float = 1.0
    stores: Callable[[Config], str] = field(default=keeps_nothing)
    tasks: tuple[str, ...] = ("classification",)

    def keeps_samples(self, config: Config) -> bool:
        """Whether the model keeps raw past samples (what the app says next to replay and A-GEM)."""
        return not self.stores(config).startswith("no ")

    def make(self, inputs: RunInputs) -> Learner:
        module, func = self.build.split(":")
        builder: Builder = getattr(importlib.import_module(module), func)
        return builder(inputs, self)
