"""Sweep chart builders, tested on their data: cells, texts, trace counts, axis types and ranges."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from app.charts import sweeps as charts
from dkvb_core.sweep import summary_frame

AXES = ["dkvb.num_codebooks", "dkvb.keys_per_codebook", "dkvb.lr"]


def fake_runs() -> pd.DataFrame:
    """2 codebooks x 3 keys x 2 lrs x 3 seeds; accuracy = keys/100 + seed/1000 (known mean and std)."""
    rows = []
    for c in (1, 4):
        for k in (4, 16, 64):
            for lr in (0.01, 1.0):
                cid = f"c{c}k{k}lr{lr}"
                for seed in range(3):
                    acc = k / 100 + seed / 1000 + c / 10
                    rows.append(
                        {
                            "run_id": f"{cid}s{seed}",
                            "config_id": cid,
                            "seed": seed,
                            "dkvb.num_codebooks": c,
                            "dkvb.keys_per_codebook": k,
                            "dkvb.lr": lr,
                            "dkvb/average_accuracy": acc,
                            "dkvb/forgetting": 1 - acc,
                            "linear/average_accuracy": 0.3,
                            "linear/forgetting": 0.6,
                            "config": json.dumps({"dkvb": {"num_codebooks": c, "keys_per_codebook": k, "lr": lr}}),
                        }
                    )
    return pd.DataFrame(rows)


@pytest.fixture()
def tables():
    runs = fake_runs()
    return runs, summary_frame(runs, AXES)


def test_metric_options_and_labels(tables):
    _, summary = tables
    opts = charts.metric_options(summary)
    assert opts == ["dkvb/average_accuracy", "dkvb/forgetting", "linear/average_accuracy", "linear/forgetting"]
    assert charts.metric_label("dkvb/average_accuracy") == "DKVB · final average accuracy"
    assert charts.metric_label("mlp/bwt") == "MLP · backward transfer"


def test_heatmap_data_places_each_config_in_its_cell(tables):
    _, summary = tables
    sliced = charts.slice_rows(summary, {"dkvb.lr": 1.0})
    data = charts.heatmap_data(sliced, "dkvb.keys_per_codebook", "dkvb.num_codebooks", "dkvb/average_accuracy")
    assert data.x_values == [4, 16, 64] and data.y_values == [1, 4]
    assert data.mean.shape == (2, 3)
    np.testing.assert_allclose(data.mean[1, 2], 0.64 + 0.001 + 0.4)  # mean over seeds 0, 1, 2
    np.testing.assert_allclose(data.std[0, 0], 0.001)  # sample std of 0, 0.001, 0.002
    assert (data.seeds == 3).all() and data.config_ids[0, 1] == "c1k16lr1.0"


def test_heatmap_refuses_two_configs_in_one_cell(tables):
    _, summary = tables
    with pytest.raises(ValueError, match="fix the other swept fields"):
        charts.heatmap_data(summary, "dkvb.keys_per_codebook", "dkvb.num_codebooks", "dkvb/average_accuracy")


def test_heatmap_figure_texts_ranges_and_categories(tables):
    _, summary = tables
    sliced = charts.slice_rows(summary, {"dkvb.lr": 0.01})
    fig = charts.heatmap_figure(sliced, "dkvb.keys_per_codebook", "dkvb.num_codebooks", "dkvb/average_accuracy")
    trace, picker = fig.data
    assert list(trace.x) == ["4", "16", "64"] and list(trace.y) == ["1", "4"]
    # One invisible, clickable marker per cell, carrying the config id (heatmaps emit no selection).
    assert len(picker.x) == 6 and picker.marker.opacity == 0 and picker.customdata[5] == "c4k64lr0.01"
    assert trace.zmin == 0.0 and trace.zmax == 1.0
    assert trace.text[0][0] == "0.141 ± 0.001"
    assert fig.layout.xaxis.type == "category"
    forgetting = charts.heatmap_figure(sliced, "dkvb.keys_per_codebook", "dkvb.num_codebooks", "dkvb/forgetting")
    assert forgetting.data[0].colorscale != trace.colorscale  # lower is better: reversed scale
    json.loads(fig.to_json())  # renders


def test_one_seed_shows_the_mean_alone():
    assert charts.fmt_mean_std(0.5, float("nan"), 1) == "0.5"
    assert charts.fmt_mean_std(0.5, 0.01, 2) == "0.5 ± 0.01"


def test_lines_per_model_have_band_mean_and_seed_traces(tables):
    runs, summary = tables
    fixed = {"dkvb.num_codebooks": 1, "dkvb.keys_per_codebook": 16}
    fig = charts.line_figure(
        charts.slice_rows(summary, fixed),
        charts.slice_rows(runs, fixed),
        "dkvb.lr",
        ["dkvb/average_accuracy", "linear/average_accuracy"],
    )
    assert len(fig.data) == 6  # per model: band, mean line, seed points
    band, mean, seeds = fig.data[:3]
    assert list(mean.x) == [0.01, 1.0] and band.fill == "toself" and len(band.x) == 4
    assert len(seeds.x) == 6  # 2 learning rates x 3 seeds
    np.testing.assert_allclose(band.y[0] - mean.y[0], 0.001)  # + one std
    assert fig.layout.xaxis.type == "log"  # 0.01 .. 1.0 spans 100x
    assert tuple(fig.layout.yaxis.range) == (-0.03, 1.03)


def test_lines_grouped_by_another_axis(tables):
    runs, summary = tables
    fixed = {"dkvb.lr": 0.01}
    fig = charts.line_figure(
        charts.slice_rows(summary, fixed),
        charts.slice_rows(runs, fixed),
        "dkvb.keys_per_codebook",
        ["dkvb/forgetting"],
        group="dkvb.num_codebooks",
    )
    assert len(fig.data) == 6 and fig.data[1].name == "dkvb.num_codebooks=1"
    assert list(fig.data[1].x) == [4, 16, 64]


def test_log_axis_only_for_wide_positive_ranges():
    assert charts.use_log_x([0.01, 0.1, 1.0]) and charts.use_log_x([2, 64])
    assert not charts.use_log_x([1, 2, 4]) and not charts.use_log_x([0, 10, 100]) and not charts.use_log_x(["a", "b"])


def test_cell_pick_and_label(tables):
    _, summary = tables
    sliced = charts.slice_rows(summary, {"dkvb.lr": 1.0})
    assert charts.config_at(sliced, "dkvb.keys_per_codebook", "dkvb.num_codebooks", "64", "4") == "c4k64lr1.0"
    assert charts.config_at(sliced, "dkvb.keys_per_codebook", "dkvb.num_codebooks", "65", "4") is None
    row = sliced.iloc[0]
    assert charts.cell_label(row, AXES, "dkvb/average_accuracy").startswith("dkvb.num_codebooks=1, ")
    assert charts.config_of_row(row)["dkvb"]["keys_per_codebook"] == 4
