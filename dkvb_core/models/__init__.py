"""The models wing: every model the engine, the app, the CLI and the sweeps know, in one registry.

Adding a model is one file in this package (its learner and a ``build`` function) and one line
here. Nothing else in the project holds a list of model names. Importing this module is cheap
(no torch): a spec's ``build`` is imported on first use.
"""

from __future__ import annotations

from dkvb_core.models.spec import ModelSpec

BOTH = ("classification", "regression")

_SPECS = (
    ModelSpec(
        "dkvb",
        "DKVB",
        "Discrete key-value bottleneck: frozen keys, only the fetched values learn",
        "dkvb",
        "dkvb_core.models.dkvb:build_dkvb",
        init_tag=0x21,
        step_cost=0.5,
        tasks=BOTH,
    ),
    ModelSpec(
        "linear",
        "Linear probe",
        "A linear layer on the embedding, fine-tuned stage after stage",
        "linear",
        "dkvb_core.models.baselines:build_linear",
        init_tag=0x22,
        step_cost=0.6,
        tasks=BOTH,
    ),
    ModelSpec(
        "mlp",
        "MLP",
        "A ReLU MLP on the embedding (one hidden layer; 40-40 for regression), fine-tuned stage after stage",
        "mlp",
        "dkvb_core.models.baselines:build_mlp",
        init_tag=0x23,
        tasks=BOTH,
    ),
    ModelSpec(
        "joint",
        "Joint (i.i.d.)",
        "Trained on all stages shuffled together: an upper bound, not a continual learner",
        "joint",
        "dkvb_core.models.baselines:build_joint",
        init_tag=0x10,
        stores=lambda config: "every stage's samples (it is the i.i.d. bound)",
        tasks=BOTH,
    ),
    ModelSpec(
        "replay",
        "Replay",
        "The MLP plus a reservoir of past samples: each batch is trained together with as many replayed ones",
        "replay",
        "dkvb_core.models.replay:build_replay",
        init_tag=0x24,
        step_cost=1.4,
        stores=lambda config: f"{config.replay.memory} past samples (a reservoir of the stream)",
        tasks=BOTH,
    ),
    ModelSpec(
        "ewc",
        "EWC",
        "The MLP with online EWC: a penalty on moving the weights that mattered for earlier stages (Fisher)",
        "ewc",
        "dkvb_core.models.regularised:build_ewc",
        init_tag=0x25,
        step_cost=1.1,
    ),
    ModelSpec(
        "lwf",
        "LwF",
        "The MLP with Learning without Forgetting: distilled towards its stage-start copy on earlier classes",
        "lwf",
        "dkvb_core.models.regularised:build_lwf",
        init_tag=0x26,
        step_cost=1.3,
    ),
    ModelSpec(
        "agem",
        "A-GEM",
        "The MLP with A-GEM: a step that would raise the loss on a memory of past samples is projected",
        "agem",
        "dkvb_core.models.replay:build_agem",
        init_tag=0x27,
        step_cost=1.9,
        stores=lambda config: f"{config.agem.memory} past samples (shared by the stages seen)",
    ),
    ModelSpec(
        "slda",
        "Streaming LDA",
        "Class means and one shared covariance on the embedding, updated per sample; no gradient steps",
        "slda",
        "dkvb_core.models.closed_form:build_slda",
        init_tag=0x28,
        step_cost=1.1,
        stores=lambda config: "no past samples (a mean per class and one covariance)",
    ),
)

REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}


def model_names() -> tuple[str, ...]:
    """Every registered model name, in registry order (the order pickers and tables use)."""
    return tuple(REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """The spec of a registered model; an unknown name is a KeyError listing the known ones."""
    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


__all__ = ["REGISTRY", "ModelSpec", "get_spec", "model_names"]
