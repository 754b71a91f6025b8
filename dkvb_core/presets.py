"""Named starting points (CLI ``--preset``, the app's preset picker): partial config dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dkvb_core.config import Config
from dkvb_core.errors import ConfigError
from dkvb_core.models import REGISTRY, model_names

# Every registered model that can do regression (its spec lists the task), in registry order.
REGRESSION_MODELS = [name for name, spec in REGISTRY.items() if "regression" in spec.tasks]

# The example features file (written by assets/features/make_digits_embeddings.py, shipped with the project).
EXAMPLE_FEATURES = str(Path(__file__).resolve().parents[1] / "assets" / "features" / "digits_cnn.npz")
# The default comparison plus the joint reference (the online presets' models).
DEFAULT_WITH_JOINT = [*Config().train.models, "joint"]

PRESETS: dict[str, dict[str, Any]] = {
    # The seed setting: 8 Gaussian classes, 4 stages of 2, 100 a class, 1000 steps a stage, batch 10.
    "toy": {},
    # The paper's failure case: too few keys, so keys are shared across stages and overwritten.
    "toy-4-keys": {"dkvb": {"keys_per_codebook": 4}},
    # The seed setting with every registered model: DKVB against replay, EWC, LwF, A-GEM and streaming LDA.
    "toy-baselines": {"train": {"models": list(model_names())}},
    # scikit-learn digits on raw pixels, 5 stages of 2 classes.
    "digits": {
        "stream": {"kind": "digits", "num_classes": 10, "classes_per_stage": 2, "stage_order": "consecutive"},
        "dkvb": {"num_codebooks": 16, "keys_per_codebook": 256, "dim_keys": 8, "split": "random_projection"},
        "joint": {"lr": 0.03},  # tuned so the i.i.d. reference is a fair upper bound (0.01 under-trains it)
        "train": {"steps_per_stage": 500},
    },
    "mnist": {
        "stream": {
            "kind": "mnist",
            "num_classes": 10,
            "classes_per_stage": 2,
            "stage_order": "consecutive",
            "encoder": "cnn",
        },
        # CNN embeddings (128-d): 16-d keys separate them better than 8-d; 512 keys a codebook.
        "dkvb": {"num_codebooks": 16, "keys_per_codebook": 512, "dim_keys": 16, "split": "random_projection"},
        "joint": {"lr": 0.03},
        "train": {"steps_per_stage": 500},
    },
    "fashion": {
        "stream": {
            "kind": "fashion",
            "num_classes": 10,
            "classes_per_stage": 2,
            "stage_order": "consecutive",
            "encoder": "cnn",
            # 500 training and 100 test images a class drawn from the official files: small enough to run live.
            "train_per_class": 500,
            "test_per_class": 100,
        },
        # CNN embeddings (128-d): 16-d keys separate them better than 8-d; 512 keys a codebook.
        "dkvb": {"num_codebooks": 16, "keys_per_codebook": 512, "dim_keys": 16, "split": "random_projection"},
        "joint": {"lr": 0.03},
        "train": {"steps_per_stage": 500},
    },
    # Bring your own embeddings, by example: the digits' 128-d CNN embeddings as a features file (.npz).
    "digits-embeddings": {
        "stream": {"kind": "features", "path": EXAMPLE_FEATURES, "classes_per_stage": 2, "stage_order": "consecutive"},
        "dkvb": {"num_codebooks": 16, "keys_per_codebook": 512, "dim_keys": 16, "split": "random_projection"},
        "joint": {"lr": 0.03},
        "train": {"steps_per_stage": 500},
    },
    # The online stream with returning tasks (OSAKA) on the 2-D toy: 3 modes of 4 classes, the
    # pre-training group at the centre and two out-of-distribution groups away from it.
    "osaka": {
        "online": {"enabled": True},
        "train": {"models": DEFAULT_WITH_JOINT},
        "joint": {"lr": 0.05},
        "record": {"every": 20},
    },
    # The same on scikit-learn digits: 0-4 pre-training, 5-9 and Fashion-MNIST (8x8) out of distribution.
    "osaka-digits": {
        "stream": {"kind": "digits", "num_classes": 10, "train_per_class": 150, "test_per_class": 40},
        "online": {"enabled": True},
        "dkvb": {"num_codebooks": 16, "keys_per_codebook": 256, "dim_keys": 8, "split": "random_projection"},
        "train": {"models": DEFAULT_WITH_JOINT},
        "joint": {"lr": 0.1},  # tuned on seeds 0-1 among 0.05 / 0.1 / 0.3 (the toy's 0.05 likewise)
        "record": {"every": 100},
    },
    # Regression (issue 11): y = sin(2x + 0.3) + 0.5 sin(3x - 0.2) + noise, learned on 5 x-ranges that
    # sweep [-5, 5] left to right, tested on all ranges. Adam for every model (the sinusoid seed's
    # optimiser): with SGD the 40-40 MLP diverges above lr 0.003 and the joint reference under-fits. Each
    # learning rate is the best final test MSE of its model over 0.0003..0.03 on seeds 100-101 (not the
    # reported seeds).
    "sine": {
        "task": "regression",
        "regression": {"kind": "sine-sweep"},
        "dkvb": {"lr": 0.01},
        "linear": {"lr": 0.0003},
        "mlp": {"lr": 0.001},
        "joint": {"lr": 0.03},
        "replay": {"lr": 0.01},
        "train": {"models": REGRESSION_MODELS, "optimizer": "adam"},
    },
    # Each stage a sinusoid of another amplitude in [0.1, 5] and phase in [0, pi] over the same inputs:
    # conflicting tasks, where no model can keep every stage (the joint reference fits their average).
    # Learning rates chosen as for "sine" (best final MSE of each model on seeds 100-101).
    "sine-tasks": {
        "task": "regression",
        "regression": {"kind": "sine-tasks"},
        "dkvb": {"lr": 0.001},
        "linear": {"lr": 0.0003},
        "mlp": {"lr": 0.03},
        "joint": {"lr": 0.003},
        "replay": {"lr": 0.0003},
        "train": {"models": REGRESSION_MODELS, "optimizer": "adam"},
    },
}


def preset_dict(name: str) -> dict[str, Any]:
    """A deep copy of a preset's partial dict; unknown names raise a ConfigError."""
    if name not in PRESETS:
        raise ConfigError([("--preset", f"unknown preset {name!r}; one of {', '.join(PRESETS)}")])
    import copy

    return copy.deepcopy(PRESETS[name])


def preset(name: str) -> Config:
    """The validated Config of a named preset."""
    return Config.from_dict(preset_dict(name))
