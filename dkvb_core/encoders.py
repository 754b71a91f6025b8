"""Frozen encoders (input -> embedding) and splitters (embedding -> one input per codebook).

An encoder is anything with ``output_dim`` and ``encode(x: ndarray) -> ndarray``; it is frozen,
so embeddings are computed once per stream and reused. Image encoders plug in through
:class:`TorchEncoder` or by registering a factory with :func:`register_encoder`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from dkvb_core.errors import ConfigError, DataError


@runtime_checkable
class Encoder(Protocol):
    """A frozen map from raw inputs ``(N, ...)`` to embeddings ``(N, output_dim)`` float32."""

    name: str
    output_dim: int

    def encode(self, x: np.ndarray) -> np.ndarray: ...


class IdentityEncoder:
    """Raw inputs are the embedding (the toy stream, digits on raw pixels)."""

    name = "identity"

    def __init__(self, input_dim: int):
        self.output_dim = input_dim

    def encode(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float32).reshape(len(x), -1)


class TorchEncoder:
    """Wraps a frozen ``nn.Module``: eval mode, no gradients, fixed-size batches to numpy."""

    def __init__(self, module: nn.Module, output_dim: int, name: str, batch_size: int = 512):
        self.module = module.eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.output_dim = output_dim
        self.name = name
        self.batch_size = batch_size

    @torch.no_grad()
    def encode(self, x: np.ndarray) -> np.ndarray:
        out = [
            self.module(torch.as_tensor(x[i : i + self.batch_size], dtype=torch.float32)).reshape(
                min(self.batch_size, len(x) - i), -1
            )
            for i in range(0, len(x), self.batch_size)
        ]
        return torch.cat(out).numpy().astype(np.float32, copy=False)


EncoderFactory = Callable[..., Encoder]
ENCODERS: dict[str, EncoderFactory] = {"identity": IdentityEncoder}
STREAM_AWARE: set[str] = set()  # encoders whose factory also takes the stream's name


def register_encoder(name: str, factory: EncoderFactory, stream_aware: bool = False) -> None:
    """Make an encoder available by name: ``factory(input_dim) -> Encoder``, or with
    ``stream_aware`` ``factory(input_dim, stream_name)`` (the image CNN picks its weights by data set)."""
    ENCODERS[name] = factory
    if stream_aware:
        STREAM_AWARE.add(name)
    else:
        STREAM_AWARE.discard(name)


def make_encoder(name: str, input_dim: int, stream_name: str = "") -> Encoder:
    """The named encoder for a stream; an unknown name is a DataError listing the known ones."""
    factory = ENCODERS.get(name)
    if factory is None:
        raise DataError(f"stream.encoder: {name!r} is not available; available: {', '.join(ENCODERS)}")
    return factory(input_dim, stream_name) if name in STREAM_AWARE else factory(input_dim)


def _cnn_factory(input_dim: int, stream_name: str) -> Encoder:
    from dkvb_core.image_encoder import make_cnn_encoder  # torch model and weights load on first use

    return make_cnn_encoder(input_dim, stream_name)


register_encoder("cnn", _cnn_factory, stream_aware=True)


# --- splitting into codebook heads ---------------------------------------------------------


class Splitter(nn.Module):
    """Embedding ``(N, D)`` -> heads ``(N, C, dim_keys)``; fixed, never trained."""

    num_codebooks: int
    dim_keys: int


class IdentitySplit(Splitter):
    """Every head sees the whole (low-dimensional) embedding."""

    def __init__(self, input_dim: int, num_codebooks: int):
        super().__init__()
        self.num_codebooks, self.dim_keys = num_codebooks, input_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z.unsqueeze(1).expand(-1, self.num_codebooks, -1)


class ChunkSplit(Splitter):
    """Head c gets the c-th contiguous chunk of the embedding."""

    def __init__(self, input_dim: int, num_codebooks: int):
        super().__init__()
        if input_dim % num_codebooks:
            raise ConfigError(
                [
                    (
                        "dkvb.split",
                        f"chunk needs the embedding size ({input_dim}) to be a multiple "
                        f"of dkvb.num_codebooks ({num_codebooks})",
                    )
                ]
            )
        self.num_codebooks, self.dim_keys = num_codebooks, input_dim // num_codebooks

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z.reshape(z.shape[0], self.num_codebooks, self.dim_keys)


class RandomProjectionSplit(Splitter):
    """Head c is ``z @ P_c`` with a fixed Gaussian matrix ``P_c`` (entries N(0, 1/dim_keys))."""

    def __init__(self, input_dim: int, num_codebooks: int, dim_keys: int, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        proj = torch.randn(num_codebooks, input_dim, dim_keys, generator=g) / dim_keys**0.5
        self.register_buffer("projection", proj)
        self.num_codebooks, self.dim_keys = num_codebooks, dim_keys

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nd,cdk->nck", z, self.projection)

    def to_input_space(self, heads: torch.Tensor) -> torch.Tensor:
        """Least-squares pre-image of head points ``(C, K, dim_keys)`` -> ``(C, K, input_dim)``."""
        pinv = torch.linalg.pinv(self.projection)  # (C, dim_keys, input_dim)
        return torch.einsum("ckd,cdi->cki", heads, pinv)


def make_splitter(mode: str, input_dim: int, num_codebooks: int, dim_keys: int | None, seed: int) -> Splitter:
    """The splitter a config asks for; ``auto`` is identity for one head on inputs of at most 2 dimensions
    (the toy, a 2-D CSV), random projection otherwise (N-d features: every head gets its own low-d view)."""
    if mode == "auto":
        mode = "identity" if num_codebooks == 1 and input_dim <= 2 else "random_projection"
    if mode == "identity":
        if dim_keys not in (None, input_dim):
            raise ConfigError([("dkvb.dim_keys", f"identity split uses the embedding size ({input_dim})")])
        return IdentitySplit(input_dim, num_codebooks)
    if mode == "chunk":
        return ChunkSplit(input_dim, num_codebooks)
    if mode == "random_projection":
        dk = dim_keys if dim_keys is not None else max(2, min(input_dim, 16))
        return RandomProjectionSplit(input_dim, num_codebooks, dk, seed)
    raise ConfigError([("dkvb.split", f"must be one of auto, identity, chunk, random_projection; got {mode!r}")])


class BottleneckedEncoder(nn.Module):
    """Frozen encoder -> splitter -> :class:`KeyValueBottleneck`, as in the authors' wrapper.

    ``forward`` returns fetched values ``(B, C, dim_values)`` (mean over top-k), or
    ``(B, C * dim_values)`` with ``concat_values_from_all_codebooks=True``.
    """

    def __init__(
        self,
        encoder: nn.Module,
        splitter: Splitter,
        bottleneck: nn.Module,
        concat_values_from_all_codebooks: bool = False,
    ):
        super().__init__()
        self.encoder, self.splitter, self.bottleneck = encoder, splitter, bottleneck
        self.concat_values_from_all_codebooks = concat_values_from_all_codebooks

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            z = self.encoder(x).reshape(x.shape[0], -1)
        return self.splitter(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.heads(x).unsqueeze(2)  # (B, C, 1, dk)
        out = self.bottleneck(h)
        values = out if isinstance(out, torch.Tensor) else out[0]
        values = values.mean(dim=2).squeeze(2)  # (B, C, dv)
        if self.concat_values_from_all_codebooks:
            return values.reshape(values.shape[0], -1)
        return values

    def freeze_encoder(self) -> None:
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.encoder.eval()

    def initialize_keys(self, loader: object, epochs: int = 1) -> None:
        """k-means on the first batch, then ``epochs`` passes of EMA k-means over ``loader``."""
        batches = [b[0] if isinstance(b, (tuple, list)) else b for b in loader]  # type: ignore[attr-defined]
        self.bottleneck.initialize_keys(self.heads(torch.cat(batches[:1])))
        for _ in range(epochs):
            for xb in batches:
                self.bottleneck.ema_update(self.heads(xb))

    def freeze_keys(self) -> None:
        self.bottleneck.freeze_keys()

    def prepare(self, loader: object, epochs: int = 1) -> BottleneckedEncoder:
        """Freeze the encoder, initialise the keys on unlabelled data, freeze the keys."""
        self.freeze_encoder()
        self.initialize_keys(loader, epochs)
        self.freeze_keys()
        return self
