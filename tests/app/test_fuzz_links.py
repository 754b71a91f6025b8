"""Random hostile links opened in the app (AppTest): the page runs, every fault is said as plain text
naming the parameter, and the charts are drawn (issue 15, fuzz test for link parameters)."""

import json
import random
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.plain_text import live_markup, shown
from tests.app.test_pages import charts  # plotly charts and the cockpit's players
from tests.core.fuzz_cases import HOSTILE_TEXT, random_scalar

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
FIELDS = ["dkvb.lr", "dkvb.keys_per_codebook", "seed", "stream.stage_classes", "train.models", "view.figure"]


def hostile_link(rng: random.Random) -> dict[str, str]:
    params = {"train.steps_per_stage": "50", "record.every": "25"}
    for _ in range(3):
        value = rng.choice(HOSTILE_TEXT) if rng.random() < 0.6 else json.dumps(random_scalar(rng))
        key = rng.choice(FIELDS) if rng.random() < 0.7 else "dkvb." + rng.choice(HOSTILE_TEXT)[:100]
        params[key] = value[:2000]
    return params


@pytest.mark.parametrize("seed", range(4))
def test_random_hostile_links(seed):
    params = hostile_link(random.Random(1500 + seed))
    at = AppTest.from_file(ENTRY, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, (params, at.exception)
    for element in [*at.warning, *at.error, *at.caption, *at.info]:
        assert not live_markup(element.value, trusted="** ---"), element.value
        assert len(shown(element.value)) < 4000
    assert charts(at), "charts drawn"
