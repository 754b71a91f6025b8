"""The Playground animation as an animated GIF, for slides that cannot embed HTML.

Drawn with Pillow (already installed with Streamlit): per frame, each model's region map with the
training points on top (the current stage bold, earlier stages faded) and the stage and step in
the header, like the interactive chart. A pure function of the run: bytes out.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.charts.boundaries import FRAME_MS
from app.charts.common import grid_frames, subsample_frames
from app.charts.palette import MODEL_LABELS, class_colour, hex_rgb, region_ids, region_palette, tint
from dkvb_core import RunResult

MAX_GIF_FRAMES = 120
HEADER_PX = 64
LABEL_PX = 30
GAP_PX = 8
POINT_RADIUS = 3
TEXT = (17, 24, 39)
OUTLINE = (31, 41, 55)
FADED_OUTLINE = (156, 163, 175)
FADED_TINT = 0.6  # earlier stages' points: lighter than the current stage's, still visible on the regions
LAST_FRAME_MS = 1500  # hold the end of the stream before the GIF loops


def _region_panel(ids: np.ndarray, flat_palette: list[int], size: int) -> Image.Image:
    """One region map (rows along y, row 0 at the bottom) as an RGB image, side ``size`` px."""
    img = Image.fromarray(np.ascontiguousarray(ids[::-1]), mode="P")
    img.putpalette(flat_palette)
    return img.convert("RGB").resize((size, size), Image.Resampling.NEAREST)


def _points_overlay(result: RunResult, px: np.ndarray, py: np.ndarray, size: int, stage: int) -> Image.Image:
    """The training points while ``stage`` trains (RGBA): that stage bold and outlined, earlier ones faded.
    The same for every frame of a stage, so it is drawn once a stage."""
    assert result.y_train is not None and result.stage_train is not None
    overlay = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    r = POINT_RADIUS
    for t in range(stage + 1):  # earlier stages first: the current one is drawn on top
        for j in np.flatnonzero(result.stage_train == t):
            x, y, c = px[j], py[j], class_colour(int(result.y_train[j]))
            if t == stage:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=hex_rgb(c), outline=OUTLINE)
            else:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=hex_rgb(tint(c, FADED_TINT)), outline=FADED_OUTLINE)
    return overlay


def _gif_palette(num_classes: int) -> Image.Image:
    """One fixed palette for every frame (regions, points bold and faded, text greys): no per-frame
    colour search, and the frames compress better."""
    colours = [*region_palette(num_classes)]
    colours += [class_colour(c) for c in range(num_classes)]
    colours += [tint(class_colour(c), FADED_TINT) for c in range(num_classes)]
    rgb = [hex_rgb(c) for c in colours] + [OUTLINE, FADED_OUTLINE, TEXT, (255, 255, 255)]
    rgb += [(v, v, v) for v in range(0, 240, 16)]  # anti-aliased text edges (none next to the no-class grey)
    rgb = rgb[:256]
    img = Image.new("P", (1, 1))
    img.putpalette([v for c in rgb for v in c] + [0, 0, 0] * (256 - len(rgb)))
    return img


def animation_gif(result: RunResult, models: list[str], panel_px: int = 340, frame_ms: int = FRAME_MS) -> bytes:
    """Every model side by side through the stages, at most ``MAX_GIF_FRAMES`` frames (stage ends kept)."""
    if result.grid is None or result.x_train is None or result.y_train is None or result.stage_train is None:
        raise ValueError("animation_gif: the run has no 2-D decision-boundary grid")
    models = [m for m in models if m in result.models] or list(result.models)
    n, grid = len(result.class_names), result.grid
    frames_idx = subsample_frames(result.num_frames, result.stage_end_frames, MAX_GIF_FRAMES)
    preds = {m: result.models[m].grid_predictions[frames_idx] for m in models}
    regions = {m: region_ids(grid_frames(preds[m], grid.size, 1), n) for m in models}
    px = (result.x_train[:, 0] - grid.x_min) / (grid.x_max - grid.x_min) * (panel_px - 1)  # panel pixels
    py = (grid.y_max - result.x_train[:, 1]) / (grid.y_max - grid.y_min) * (panel_px - 1)  # row 0 at the top
    palette = _gif_palette(n)
    region_colours = [v for c in region_palette(n) for v in hex_rgb(c)]
    width = len(models) * panel_px + (len(models) + 1) * GAP_PX
    height = HEADER_PX + LABEL_PX + panel_px + GAP_PX
    title_font, label_font = ImageFont.load_default(size=22), ImageFont.load_default(size=18)
    total = int(result.frame_steps[-1])
    overlays = [_points_overlay(result, px, py, panel_px, stage) for stage in range(result.num_stages)]
    images = []
    for i, f in enumerate(frames_idx):
        stage = int(result.frame_stage[f])
        canvas = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(canvas)
        draw.text(
            (GAP_PX, 16),
            f"Stage {stage + 1} of {result.num_stages} · step {int(result.frame_steps[f]):,} of {total:,}",
            fill=TEXT,
            font=title_font,
        )
        for k, m in enumerate(models):
            left, top = GAP_PX + k * (panel_px + GAP_PX), HEADER_PX + LABEL_PX
            draw.text((left + panel_px / 2, HEADER_PX), MODEL_LABELS.get(m, m), fill=TEXT, font=label_font, anchor="mt")
            canvas.paste(_region_panel(regions[m][i], region_colours, panel_px), (left, top))
            canvas.paste(overlays[stage], (left, top), overlays[stage])
        images.append(canvas.quantize(palette=palette, dither=Image.Dither.NONE))
    durations = [frame_ms] * (len(images) - 1) + [LAST_FRAME_MS]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    return buf.getvalue()
