"""Chart builders, tested on their data: trace and frame counts, dtypes, axis ranges, sizes."""

import base64
import json

import numpy as np
import pytest

from app import downloads
from app.charts import boundaries, common, forgetting, gif, keys, palette, png


def spec(fig) -> dict:
    return json.loads(fig.to_json())


def region_of(image: dict) -> np.ndarray:
    """Class ids of a layout image (PNG rows run top-down, the grid's rows bottom-up)."""
    source = image["source"]
    assert source.startswith("data:image/png;base64,")
    return png.decode_palette_png(base64.b64decode(source.split(",", 1)[1]))[::-1]


def test_animated_boundaries_frames_traces_and_class_id_regions(small_result):
    r = small_result
    fig = boundaries.animated_boundaries(r, ["dkvb", "linear", "mlp"])
    T, G = r.num_stages, r.grid.size
    assert len(fig.data) == 3 * T  # one points trace per stage and model
    frames = fig.frame_dicts
    assert len(frames) == r.num_frames  # small run: every frame fits the budget
    assert len(spec(fig)["frames"]) == len(frames)
    last = frames[-1]["layout"]["images"]
    assert len(last) == 3 and [i["xref"] for i in last] == ["x", "x2", "x3"]
    for image, m in zip(last, ["dkvb", "linear", "mlp"], strict=True):
        expected = palette.region_ids(r.models[m].grid_predictions[-1].reshape(G, G), 8)
        np.testing.assert_array_equal(region_of(image), expected)
    assert tuple(fig.layout.xaxis.range) == (r.grid.x_min, r.grid.x_max)
    assert len(fig.layout.sliders[0].steps) == len(frames)


def test_current_stage_bold_earlier_faded_later_hidden(small_result):
    fig = boundaries.animated_boundaries(small_result, ["dkvb"])
    stage2 = next(f for f in fig.frame_dicts if small_result.frame_stage[int(f["name"])] == 2)
    opacities = [t["marker"]["opacity"] for t in stage2["data"]]
    assert opacities == [boundaries.PAST_OPACITY, boundaries.PAST_OPACITY, 1.0, 0.0]


def test_png_round_trip_and_limits():
    ids = np.array([[0, 1, 2], [8, 8, 3]], np.uint8)
    pal = palette.region_palette(8)
    np.testing.assert_array_equal(png.decode_palette_png(png.palette_png(ids, pal)), ids)
    with pytest.raises(ValueError, match="colour"):
        png.palette_png(np.array([[9]], np.uint8), pal)


def test_held_out_points_add_one_trace_per_model(small_result):
    with_test = boundaries.animated_boundaries(small_result, ["dkvb", "mlp"], show_test=True)
    without = boundaries.animated_boundaries(small_result, ["dkvb", "mlp"], show_test=False)
    assert len(with_test.data) == len(without.data) + 2


def test_default_run_animation_stays_under_3_mb(default_result):
    fig = boundaries.animated_boundaries(default_result, ["dkvb", "linear", "mlp"], show_test=True)
    size = len(fig.to_json())
    assert size <= 3_000_000, size
    assert len(fig.frame_dicts) >= common.MIN_FRAMES
    key_map = keys.animated_key_map(default_result)
    assert len(key_map.to_json()) <= 3_000_000


def test_plan_animation_keeps_stage_ends_and_shrinks_grid_when_needed():
    keep = np.array([10, 20, 30, 40])
    frames, stride = common.plan_animation(41, keep, 100, 3, budget=2_000_000)
    assert stride == 1 and set(keep) <= set(frames) and 0 in frames
    frames, stride = common.plan_animation(2001, np.arange(100, 2001, 100), 400, 4, budget=2_000_000)
    side = -(-400 // stride)
    assert len(frames) * 4 * side * side * 4 / 3 <= 2_000_000
    assert stride > 1 and len(frames) >= common.MIN_FRAMES


def test_paper_figure_has_a_panel_per_model_and_stage(small_result):
    r = small_result
    fig = boundaries.paper_figure(r, ["dkvb", "linear", "mlp"])
    T = r.num_stages
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 3 * T
    # stage t's panel shows the points of stages 0..t
    assert len(fig.data) == 3 * (T + T * (T + 1) // 2)


def test_key_map_frames_follow_value_votes(small_result):
    r = small_result
    fig = keys.animated_key_map(r, 0)
    assert len(fig.frame_dicts) == r.num_frames
    G = r.grid.size
    votes = r.models["dkvb"].value_votes
    expected = palette.region_ids(votes[-1, 0][r.grid_key_index[0]].reshape(G, G), 8)
    np.testing.assert_array_equal(region_of(fig.frame_dicts[-1]["layout"]["images"][0]), expected)
    assert fig.frame_dicts[0]["data"][0]["marker"]["color"] == palette.region_ids(votes[0, 0], 8).tolist()
    assert len(fig.data[0].x) == r.keys_2d.shape[1]  # one marker per key


def test_four_keys_share_keys_across_stages_64_do_not(small_result, four_keys_result):
    few = np.asarray(keys.overlap_heatmap(four_keys_result).data[0].z)
    many = np.asarray(keys.overlap_heatmap(small_result).data[0].z)
    off = ~np.eye(len(few), dtype=bool)
    assert few[off].mean() > 0.25 > 0.1 > many[off].mean()  # measured: 0.36 vs 0.03


def test_usage_heatmap_and_touched_bars(small_result):
    r = small_result
    usage = keys.key_usage_heatmap(r, 0)
    assert np.asarray(usage.data[0].customdata).shape == (r.num_stages, 64)
    bars = keys.touched_fraction_bars(r)
    assert len(bars.data[0].y) == r.num_stages and all(0 < v <= 1 for v in bars.data[0].y)


def test_key_charts_explain_a_run_without_dkvb(small_result):
    from dkvb_core import Config, run

    r = run(Config().replace(**{"train.steps_per_stage": 10, "train.models": ["mlp"]}))
    with pytest.raises(ValueError, match="DKVB"):
        keys.key_usage_heatmap(r)


def test_forgetting_charts(small_result):
    r = small_result
    models = ["dkvb", "linear", "mlp"]
    mats = forgetting.accuracy_matrices(r, models)
    assert len(mats.data) == 3
    np.testing.assert_allclose(np.asarray(mats.data[0].z), r.accuracy_matrix("dkvb"))
    anytime = forgetting.anytime_accuracy(r, models)
    assert len(anytime.data) == 3 * r.num_stages
    assert len(anytime.layout.shapes) == 3 * (r.num_stages - 1)  # stage boundaries in each panel
    bars = forgetting.forgetting_bars(r, models)
    assert len(bars.data) == 2 * 3
    from dkvb_core import metrics

    assert bars.data[1].y[0] == pytest.approx(metrics.forgetting_max(r.accuracy_matrix("dkvb")))


def test_downloads(small_result):
    csv = downloads.metrics_csv(small_result).decode()
    header = csv.splitlines()[0].split(",")
    assert header[:3] == ["model", "average_accuracy", "forgetting"] and "R[3][3]" in header
    assert len(csv.splitlines()) == 1 + 3
    html = downloads.animation_html(boundaries.animated_boundaries(small_result, ["dkvb"])).decode()
    assert "<title>" in html and "Plotly.newPlot" in html and "cdn" not in html.split("<body>")[0].lower()


def test_gif_animation_shows_every_frame_with_each_models_regions(small_result):
    import io

    from PIL import Image, ImageSequence

    r = small_result
    data = gif.animation_gif(r, ["dkvb", "mlp"], panel_px=100)
    assert data == gif.animation_gif(r, ["dkvb", "mlp"], panel_px=100)  # deterministic
    img = Image.open(io.BytesIO(data))
    assert img.n_frames == r.num_frames and img.info["loop"] == 0
    frames = [f.convert("RGB") for f in ImageSequence.Iterator(img)]
    assert frames[0].size == (2 * 100 + 3 * gif.GAP_PX, gif.HEADER_PX + gif.LABEL_PX + 100 + gif.GAP_PX)
    top = gif.HEADER_PX + gif.LABEL_PX
    G = r.grid.size
    for k, m in enumerate(["dkvb", "mlp"]):  # a panel's corner pixel: the model's class there
        left = gif.GAP_PX + k * (100 + gif.GAP_PX)
        ids = palette.region_ids(r.models[m].grid_predictions[-1].reshape(G, G), len(r.class_names))
        expected = palette.region_palette(len(r.class_names))[ids[-1, 0]]  # top-left: last grid row, first column
        assert "#{:02x}{:02x}{:02x}".format(*frames[-1].getpixel((left, top))) == expected
    assert frames[0].tobytes() != frames[-1].tobytes()


def test_gif_frames_are_capped(small_result, monkeypatch):
    import io

    from PIL import Image

    monkeypatch.setattr(gif, "MAX_GIF_FRAMES", 8)
    assert small_result.num_frames > 8
    data = gif.animation_gif(small_result, ["dkvb"], panel_px=400)  # wide enough to show each step
    expected = common.subsample_frames(small_result.num_frames, small_result.stage_end_frames, 8)
    assert Image.open(io.BytesIO(data)).n_frames == len(expected) <= 8


def test_palette_distinct_colours_for_many_classes():
    colours = [palette.class_colour(c) for c in range(32)]
    assert len(set(colours)) == 32
    scale = palette.region_colourscale(8)
    assert scale[-1][1] == palette.NO_CLASS


@pytest.mark.parametrize(("panels", "shape"), [(1, (1, 1)), (3, (1, 3)), (4, (2, 2)), (5, (2, 3)), (6, (2, 3))])
def test_grid_shape_keeps_panels_large(panels, shape):
    assert boundaries.grid_shape(panels) == shape


def test_four_models_are_drawn_as_a_two_by_two_grid():
    from dkvb_core import Config, run

    models = ["dkvb", "linear", "mlp", "joint"]
    r = run(Config().replace(**{"train.steps_per_stage": 50, "record.every": 25, "train.models": models}))
    fig = spec(boundaries.animated_boundaries(r, models, height=600))
    lay = fig["layout"]
    assert lay["yaxis"]["domain"] == lay["yaxis2"]["domain"] != lay["yaxis3"]["domain"]  # two panels a row
    assert lay["xaxis"]["domain"] == lay["xaxis3"]["domain"]  # ... in two columns
    assert [i["xref"] for i in fig["frames"][-1]["layout"]["images"]] == ["x", "x2", "x3", "x4"]
    assert lay["height"] > 600  # a second row adds height instead of shrinking the panels


def test_dark_regions_keep_classes_apart_and_points_stand_out():
    dark = palette.region_palette(8, dark=True)
    light = palette.region_palette(8)
    assert dark != light and dark[-1] == palette.DARK_NO_CLASS
    rgb = np.array([palette.hex_rgb(c) for c in dark], dtype=float)
    gaps = [np.linalg.norm(rgb[i] - rgb[j]) for i in range(len(rgb)) for j in range(i + 1, len(rgb))]
    assert min(gaps) > 20  # every pair of regions (and "no class") can be told apart
    for c in range(8):  # a class's point is far brighter than its own region on a dark page
        point = np.array(palette.hex_rgb(palette.class_colour(c)), dtype=float)
        assert np.linalg.norm(point - rgb[c]) > 60


def test_dark_figure_has_dark_panels_and_light_text(small_result):
    fig = spec(boundaries.animated_boundaries(small_result, ["dkvb", "mlp"], dark=True))
    assert fig["layout"]["paper_bgcolor"] == palette.DARK_BG
    assert fig["layout"]["font"]["color"] == palette.DARK_TEXT
    ids = region_of(fig["frames"][-1]["layout"]["images"][0])
    assert ids.max() <= 8


def test_scale_fonts_grows_every_font_and_inline_size():
    fig = {
        "layout": {
            "font": {"size": 16},
            "title": {"text": "<span style='font-size:15px'>x</span>", "font": {"size": 20}},
        },
        "frames": [{"layout": {"title": {"text": "<span style='font-size:10px'>y</span>"}}}],
    }
    out = common.scale_fonts(fig, 1.5)
    assert out["layout"]["font"]["size"] == 24 and out["layout"]["title"]["font"]["size"] == 30
    assert (
        "font-size:22px" in out["layout"]["title"]["text"]
        and "font-size:15px" in out["frames"][0]["layout"]["title"]["text"]
    )
    assert fig["layout"]["font"]["size"] == 16  # the input is left alone


def test_forgetting_charts_stay_legible_with_every_model():
    """Nine models: matrices wrap onto rows of five, anytime panels into two columns, bar labels
    move to hover; the table says which models keep raw past samples."""
    from dkvb_core import Config, run
    from dkvb_core.models import REGISTRY

    models = list(REGISTRY)
    cfg = Config().replace(**{"train.steps_per_stage": 10, "train.models": models, "record.grid_size": 0})
    r = run(cfg)
    mats = forgetting.accuracy_matrices(r, models, height=300)
    assert len(mats.data) == len(models) and mats.layout.height == 300 * 2
    assert {t.xaxis for t in mats.data[:5]} == {"x", "x2", "x3", "x4", "x5"} and mats.data[5].xaxis == "x6"
    anytime = forgetting.anytime_accuracy(r, models, height_per_model=200)
    assert anytime.layout.height == 200 * 5 + 120  # 9 panels in 2 columns: 5 rows
    assert len(anytime.layout.shapes) == len(models) * (r.num_stages - 1)  # none in the empty tenth cell
    bars = forgetting.forgetting_bars(r, models)
    assert len(bars.data) == 2 * len(models) and all(t.text is None for t in bars.data[1::2])
    colours = [t.marker.color for t in bars.data[::2]]
    assert len(set(colours)) == len(models)  # no two models share a colour
    table = forgetting.metrics_table(r, models)
    keeps = {row["model"]: row["keeps"] for row in table}
    assert keeps["Replay"].startswith("200 past samples") and keeps["A-GEM"].startswith("200 past samples")
    assert keeps["DKVB"] == "no past samples" and keeps["EWC"] == "no past samples"
    note = forgetting.stored_samples_note(r, models)
    assert "Replay keeps 200" in note and "A-GEM keeps 200" in note and "EWC" not in note
    assert forgetting.stored_samples_note(r, ["dkvb", "ewc"]) == ""
