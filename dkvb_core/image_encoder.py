"""The frozen image CNN the project trains itself, its weights files, and an embedding cache.

Like the paper's pretrained backbones, the encoder never saw the data it encodes: the digit sets
(digits, mnist) are encoded by a CNN trained on Fashion-MNIST, Fashion-MNIST by one trained on
the MNIST 5k subset (``assets/encoders/train_cnn.py`` trains both; ``cnn_encoders.json`` records
their settings and test accuracy). Inputs are 28x28; an 8x8 digit is resized to 20x20 and padded
to 28x28, the way MNIST digits sit in their frame.

Embeddings are computed once per input array and cached in memory and on disk (``.npz`` keyed by
data set, encoder, weights hash and a hash of the pixels) under ``$DKVB_CACHE_DIR`` (default
``~/.cache/dkvb-explorer``; ``off`` keeps the cache in memory only). A cache that cannot be
written is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import zipfile
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from dkvb_core.errors import DataError

ENCODER_DIR = Path(__file__).resolve().parents[1] / "assets" / "encoders"
# Which weights encode which data set: never the set the CNN was trained on.
WEIGHTS_FOR: dict[str, str] = {
    "digits": "cnn_fashion.pt",
    "mnist": "cnn_fashion.pt",
    "fashion": "cnn_mnist.pt",
}
TRAINED_ON: dict[str, str] = {"cnn_fashion.pt": "Fashion-MNIST", "cnn_mnist.pt": "MNIST 5k"}
EMBEDDING_DIM = 128
_MEMORY_ENTRIES = 24


class ImageCNN(nn.Module):
    """Three 3x3 conv blocks (16, 32, 64 channels) -> 2x2 average pool -> 128-d embedding; a linear
    head classifies during training only. About 25k parameters (~100 kB)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()

        def block(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())

        self.features = nn.Sequential(
            block(1, 16),
            nn.MaxPool2d(2),  # 14x14
            block(16, 32),
            nn.MaxPool2d(2),  # 7x7
            block(32, 32),
            nn.AdaptiveAvgPool2d(2),  # 2x2
            nn.Flatten(),
        )
        self.head = nn.Linear(EMBEDDING_DIM, num_classes)
        # Per-feature mean and spread of the embedding on the CNN's own training images, set after
        # training: embeddings come out standardised, which SGD baselines need (a fixed map, no peeking).
        self.register_buffer("embed_mean", torch.zeros(EMBEDDING_DIM))
        self.register_buffer("embed_std", torch.ones(EMBEDDING_DIM))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1, 28, 28)`` in [0, 1] -> standardised ``(N, 128)``."""
        return (self.features(x) - self.embed_mean) / self.embed_std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def to_cnn_input(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Flattened square images ``(N, S*S)`` in [0, 1] -> ``(N, 1, 28, 28)``; 8x8 digits are
    resized to 20x20 (bilinear) and centred with a 4-pixel border, like MNIST."""
    t = torch.as_tensor(np.asarray(x, dtype=np.float32))
    side = round(t.shape[1] ** 0.5)
    if side * side != t.shape[1]:
        raise DataError(f"stream.encoder: cnn needs square images; got {t.shape[1]} values a sample")
    t = t.reshape(len(t), 1, side, side)
    if side == 28:
        return t
    if side > 28:
        return functional.interpolate(t, size=(28, 28), mode="bilinear", align_corners=False)
    t = functional.interpolate(t, size=(20, 20), mode="bilinear", align_corners=False)
    return functional.pad(t, (4, 4, 4, 4))


def weights_path(stream_name: str) -> Path:
    """The weights file that encodes a data set (trained on a different one)."""
    if stream_name not in WEIGHTS_FOR:
        raise DataError(
            f"stream.encoder: cnn encodes the image sets ({', '.join(WEIGHTS_FOR)}); "
            f"use identity for {stream_name or 'this stream'}"
        )
    return ENCODER_DIR / WEIGHTS_FOR[stream_name]


def file_digest(path: Path) -> str:
    """First 16 hex digits of the file's SHA-256 (the cache keys carry it)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def load_cnn(path: str | Path) -> ImageCNN:
    """Load a state dict saved by the training script, safely (``weights_only=True``).

    A missing, unreadable or mismatched file raises :class:`DataError` saying how to rebuild it.
    """
    path = Path(path)
    rebuild = "retrain with `python assets/encoders/train_cnn.py`"
    if not path.is_file():
        raise DataError(f"stream.encoder: weights file not found: {path}; {rebuild}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise DataError(
            f"stream.encoder: weights file {path} is corrupt or not a torch state dict ({reason}); {rebuild}"
        ) from None
    if not isinstance(state, dict):
        kind = type(state).__name__
        raise DataError(f"stream.encoder: weights file {path} holds a {kind}, not a state dict; {rebuild}")
    model = ImageCNN()
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, KeyError) as exc:
        first = str(exc).splitlines()[0][:160]
        raise DataError(f"stream.encoder: weights file {path} does not fit the CNN ({first}); {rebuild}") from None
    return model.eval()


@lru_cache(maxsize=4)
def _cached_model(path: str, digest: str) -> ImageCNN:
    return load_cnn(path)


# --- the cache -------------------------------------------------------------------------------------


def cache_dir() -> Path | None:
    """Folder of the on-disk embedding cache, or None when disabled (``DKVB_CACHE_DIR=off``)."""
    value = os.environ.get("DKVB_CACHE_DIR")
    if value and value.lower() == "off":
        return None
    if value:
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dkvb-explorer"


def array_digest(x: np.ndarray) -> str:
    """A content hash of an array (shape, dtype and bytes)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(f"{x.shape}{x.dtype}".encode())
    h.update(np.ascontiguousarray(x).tobytes())
    return h.hexdigest()


_MEMORY: OrderedDict[str, np.ndarray] = OrderedDict()


def _remember(key: str, value: np.ndarray) -> None:
    _MEMORY[key] = value
    _MEMORY.move_to_end(key)
    while len(_MEMORY) > _MEMORY_ENTRIES:
        _MEMORY.popitem(last=False)


def clear_memory_cache() -> None:
    """Forget the in-memory embeddings (tests; the disk cache stays)."""
    _MEMORY.clear()


def _read_disk(path: Path, rows: int) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            emb = z["embedding"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        return None  # a damaged entry is recomputed and overwritten
    return emb.astype(np.float32, copy=False) if emb.ndim == 2 and len(emb) == rows else None


def _write_disk(path: Path, emb: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, embedding=emb)
        os.replace(tmp, path)
    except OSError:
        pass  # read-only home, full disk: the memory cache still holds it


class CNNEncoder:
    """The frozen CNN as an :class:`~dkvb_core.encoders.Encoder` for one data set, with caching."""

    name = "cnn"
    output_dim = EMBEDDING_DIM

    def __init__(self, stream_name: str, path: Path | None = None, batch_size: int = 500):
        self.stream_name = stream_name
        self.path = Path(path) if path is not None else weights_path(stream_name)
        if not self.path.is_file():
            load_cnn(self.path)  # raises the DataError that says what is missing
        self.digest = file_digest(self.path)
        self.batch_size = batch_size
        self.last_from_cache = False

    @property
    def model(self) -> ImageCNN:
        return _cached_model(str(self.path), self.digest)

    def cache_key(self, x: np.ndarray) -> str:
        return f"{self.stream_name}-cnn-{self.digest}-{array_digest(x)}"

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Embeddings ``(N, 128)`` float32 of flattened images ``(N, S*S)`` in [0, 1]."""
        x = np.asarray(x, dtype=np.float32)
        key = self.cache_key(x)
        folder = cache_dir()
        disk = folder / "embeddings" / f"{key}.npz" if folder is not None else None
        emb = _MEMORY.get(key)
        if emb is None and disk is not None and disk.is_file():
            emb = _read_disk(disk, len(x))
        self.last_from_cache = emb is not None
        if emb is None:
            emb = self._compute(x)
            if disk is not None:
                _write_disk(disk, emb)
        _remember(key, emb)
        return emb

    @torch.no_grad()
    def _compute(self, x: np.ndarray) -> np.ndarray:
        model = self.model
        images = to_cnn_input(x)
        parts = [model.embed(images[i : i + self.batch_size]) for i in range(0, len(images), self.batch_size)]
        out = torch.cat(parts) if parts else torch.zeros(0, EMBEDDING_DIM)
        return out.numpy().astype(np.float32)


def make_cnn_encoder(input_dim: int, stream_name: str) -> CNNEncoder:
    """Encoder factory registered as ``cnn``: picks the weights not trained on ``stream_name``."""
    weights_path(stream_name)  # the image sets only: a clear error for the toy or a CSV
    side = round(input_dim**0.5)
    if side * side != input_dim:
        what = stream_name or "the stream"
        raise DataError(f"stream.encoder: cnn needs square images; {what} has {input_dim} inputs")
    return CNNEncoder(stream_name)


def encoder_record(stream_name: str) -> dict:
    """What ``cnn_encoders.json`` records about the weights that encode ``stream_name`` (settings,
    training set, test accuracy); empty if the record is missing or unreadable."""
    import json

    try:
        record = json.loads((ENCODER_DIR / "cnn_encoders.json").read_text(encoding="utf-8"))
        return dict(record[weights_path(stream_name).name])
    except (OSError, ValueError, KeyError, DataError):
        return {}
