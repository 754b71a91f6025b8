"""Class-id maps as palette PNGs: one uint8 class id a pixel, zlib-compressed, with the class
colours as the palette. A 100x100 region map is ~1 kB instead of 13 kB of base64 array, and
plotly draws it as a layout image, which keeps drawing during animations."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence

import numpy as np

from app.charts.palette import hex_rgb


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def palette_png(ids: np.ndarray, palette: Sequence[str]) -> bytes:
    """Encode ``ids`` (H, W) uint8, row 0 at the top, as an 8-bit palette PNG of ``palette``
    ('#rrggbb' colours; id i is drawn in palette[i])."""
    ids = np.ascontiguousarray(ids, dtype=np.uint8)
    if ids.ndim != 2:
        raise ValueError(f"palette_png: ids must be 2-D; got shape {ids.shape}")
    if len(palette) == 0 or len(palette) > 256 or (ids.size and int(ids.max()) >= len(palette)):
        raise ValueError("palette_png: every id needs a colour and at most 256 colours are allowed")
    h, w = ids.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), ids], axis=1)  # filter byte 0 on every row
    plte = b"".join(bytes(hex_rgb(c)) for c in palette)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
        + _chunk(b"PLTE", plte)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def decode_palette_png(png: bytes) -> np.ndarray:
    """The ids back from :func:`palette_png` output (for tests and checks)."""
    pos, width, height, idat = 8, 0, 0, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", data[:8])
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width + 1)
    return rows[:, 1:].copy()
