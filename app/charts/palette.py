"""Class colours readable on a projector (8+ classes), their light tints for regions, and the
discrete colour scale that maps class ids (plus "no class") onto a heatmap."""

from __future__ import annotations

import functools

import numpy as np

from dkvb_core.models import REGISTRY

# Strong, distinct colours (Tableau-like, grey left out: grey means "no class").
CLASS_COLOURS: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#ad494a",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
)
NO_CLASS = "#f2f2f2"
NO_CLASS_ID = 255
# Model colours in registry order: the first four keep the colours talks have shown; later models
# take the next distinct ones (none a class colour's near twin on the toy's first classes).
_MODEL_COLOUR_CYCLE = (
    "#1f6feb",
    "#d62728",
    "#ff7f0e",
    "#6b7280",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#0f766e",  # dark teal and dark amber: the ninth and tenth models, apart from every class colour
    "#a16207",
)
MODEL_LABELS = {name: spec.label for name, spec in REGISTRY.items()}
MODEL_COLOURS = {name: _MODEL_COLOUR_CYCLE[i % len(_MODEL_COLOUR_CYCLE)] for i, name in enumerate(REGISTRY)}
FONT = {"size": 16}
# Dark rooms: the page and panel colour, the "no class" region, and the text.
DARK_BG = "#0e1117"
DARK_NO_CLASS = "#262b36"
DARK_TEXT = "#e5e7eb"


def model_description(name: str) -> str:
    """The one-line description the app shows next to a model (the registry's)."""
    spec = REGISTRY.get(name)
    return spec.description if spec is not None else ""


def class_colour(c: int) -> str:
    """Colour of class ``c``; beyond the table, evenly spaced hues."""
    if c < len(CLASS_COLOURS):
        return CLASS_COLOURS[c]
    hue = (c * 0.618033988749895) % 1.0
    r, g, b = _hsv_to_rgb(hue, 0.75, 0.8)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def hex_rgb(hex_colour: str) -> tuple[int, int, int]:
    """'#rrggbb' -> (r, g, b), each 0..255."""
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def tint(hex_colour: str, amount: float = 0.55, towards: str = "#ffffff") -> str:
    """Blend a colour towards white (regions stay light so the points on top stand out), or towards
    ``towards`` (the dark background: regions stay dark, the full-colour points still stand out)."""
    rgb = np.array(hex_rgb(hex_colour), dtype=float)
    out = rgb + (np.array(hex_rgb(towards), dtype=float) - rgb) * amount
    return "#" + "".join(f"{round(v):02x}" for v in out)


@functools.lru_cache(maxsize=64)
def region_palette(num_classes: int, amount: float = 0.55, dark: bool = False) -> tuple[str, ...]:
    """Region colours by id: light class tints (dark shades on a dark page), then "no class" at id
    ``num_classes``. Cached: an animation asks for it once per region image (hundreds of times)."""
    if dark:
        return (*(tint(class_colour(c), amount, DARK_BG) for c in range(num_classes)), DARK_NO_CLASS)
    return (*(tint(class_colour(c), amount) for c in range(num_classes)), NO_CLASS)


def region_colourscale(num_classes: int, amount: float = 0.55, dark: bool = False) -> list[list[float | str]]:
    """A stepwise scale for z in 0..num_classes, where z == num_classes means "no class"."""
    colours = region_palette(num_classes, amount, dark)
    n = len(colours)
    scale: list[list[float | str]] = []
    for i, colour in enumerate(colours):
        scale.append([i / n, colour])
        scale.append([(i + 1) / n, colour])
    return scale


def region_ids(pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Class ids as uint8 with "no class" (255) moved to ``num_classes`` for the colour scale."""
    out = np.asarray(pred, dtype=np.uint8).copy()
    out[out >= num_classes] = num_classes
    return out
