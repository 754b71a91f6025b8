"""The data of the online stream (OSAKA): the classes grouped into modes, mode 0 the pre-training mode.

Layouts, unless ``online.modes`` regroups the classes explicitly:
- ``toy``: ``len(online.mode_probs)`` groups of ``online.classes_per_mode`` Gaussian classes. The
  pre-training group sits at the centre of the plane, each out-of-distribution (OoD) group on a circle
  around it, far enough that its points fall outside the region the pre-training data covers;
- ``digits`` and ``mnist``: digits 0-4 are the pre-training mode, 5-9 the first OoD mode, and
  Fashion-MNIST (shrunk to the digits' image size; class ids 10-19) the second OoD mode;
- any other stream (an uploaded CSV, Fashion-MNIST alone): its stages are the modes.

The returned stream's stages *are* the modes (``stage_classes`` = modes), so its held-out accuracy
per stage is the accuracy per mode, and ``pretrain_rows`` holds the training rows of mode 0.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from dkvb_core.config import Config
from dkvb_core.errors import DataError
from dkvb_core.streams.base import Stream, split_held_out

OOD_DISTANCE = 2.2  # toy: distance of an OoD group's centre from the pre-training group's, in stream.radius
GROUP_RADIUS = 0.5  # toy: radius of a group's circle of class means, in stream.radius
FASHION_OFFSET = 10  # class id of Fashion-MNIST's first class in the digits / mnist online stream


def build_online_stream(config: Config) -> Stream:
    """The online stream's data for ``config``: the layout of its kind, regrouped into its modes."""
    from dkvb_core.streams import build_stream

    kind = config.stream.kind
    if kind == "toy":
        base = online_toy_stream(config)
    elif kind in ("digits", "mnist"):
        base = digits_with_fashion(config)
    else:
        base = build_stream(config)
    modes = config.online.modes if config.online.modes is not None else base.stage_classes
    return regroup(base, modes, config)


def toy_means(num_modes: int, per_mode: int, radius: float) -> np.ndarray:
    """Class means ``(num_modes * per_mode, 2)``: class ``c`` belongs to mode ``c // per_mode``."""
    inner = 2 * math.pi * np.arange(per_mode) / per_mode + math.pi / 4
    ring = GROUP_RADIUS * radius * np.stack([np.cos(inner), np.sin(inner)], axis=1)
    centres = [np.zeros(2)]
    for m in range(1, num_modes):
        angle = math.pi / 6 + 2 * math.pi * (m - 1) / max(num_modes - 1, 1)
        centres.append(OOD_DISTANCE * radius * np.array([math.cos(angle), math.sin(angle)]))
    return np.concatenate([c + ring for c in centres])


def online_toy_stream(config: Config) -> Stream:
    """Gaussian classes in groups, one group a mode (the stages of the returned stream)."""
    s, o = config.stream, config.online
    num_modes, per_mode = len(o.mode_probs), o.classes_per_mode
    means = toy_means(num_modes, per_mode, s.radius)
    n = len(means)
    rng = np.random.default_rng([config.seed_of_stream, 0x0A5A])

    def sample(per_class: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.repeat(np.arange(n), per_class)
        return (means[y] + s.spread * rng.standard_normal((len(y), 2))).astype(np.float32), y

    x_train, y_train = sample(s.train_per_class)
    x_test, y_test = sample(s.test_per_class)
    modes = tuple(tuple(range(m * per_mode, (m + 1) * per_mode)) for m in range(num_modes))
    return Stream(
        x_train, y_train, y_train // per_mode, x_test, y_test, y_test // per_mode, modes, n, name="toy-online"
    )


def shrink_images(images: np.ndarray, side: int) -> np.ndarray:
    """``(N, H, H)`` uint8 -> ``(N, side, side)``: zero-pad to a multiple of ``side``, average blocks."""
    h = images.shape[1]
    if h == side:
        return images
    f = -(-h // side)
    pad = f * side - h
    lo = pad // 2
    padded = np.pad(images.astype(np.float32), ((0, 0), (lo, pad - lo), (lo, pad - lo)))
    blocks = padded.reshape(len(images), side, f, side, f).mean(axis=(2, 4))
    return np.clip(np.rint(blocks), 0, 255).astype(np.uint8)


def digits_with_fashion(config: Config) -> Stream:
    """Digits (or MNIST 5k) 0-9 as modes 0-4 | 5-9, plus Fashion-MNIST as a third mode if installed."""
    from dkvb_core.streams.images import (
        DIGIT_CLASSES,
        FASHION_CLASSES,
        _take_per_class,
        fashion_missing,
        flatten_pixels,
        load_digits_images,
        load_fashion_images,
        load_mnist5k_images,
    )

    s = config.stream
    rng = np.random.default_rng([config.seed_of_stream, 0x1A6F])
    images, labels = load_digits_images() if s.kind == "digits" else load_mnist5k_images()
    train, test = split_held_out(labels, s.test_fraction, rng)
    parts = [(images[train], labels[train], images[test], labels[test])]
    names = list(DIGIT_CLASSES)
    modes: list[tuple[int, ...]] = [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9)]
    if fashion_missing() is None:
        f_img, f_lab = load_fashion_images("train")
        t_img, t_lab = load_fashion_images("t10k")
        tr = _take_per_class(f_lab, np.arange(len(f_lab)), s.train_per_class, rng)
        te = _take_per_class(t_lab, np.arange(len(t_lab)), s.test_per_class, rng)
        side = images.shape[1]
        parts.append(
            (
                shrink_images(f_img[tr], side),
                f_lab[tr] + FASHION_OFFSET,
                shrink_images(t_img[te], side),
                t_lab[te] + FASHION_OFFSET,
            )
        )
        names += list(FASHION_CLASSES)
        modes.append(tuple(range(FASHION_OFFSET, FASHION_OFFSET + 10)))
    x_tr, y_tr, x_te, y_te = (np.concatenate([p[i] for p in parts]) for i in range(4))
    return Stream(
        x_train=flatten_pixels(x_tr),
        y_train=y_tr.astype(np.int64),
        stage_train=np.zeros(len(y_tr), np.int64),
        x_test=flatten_pixels(x_te),
        y_test=y_te.astype(np.int64),
        stage_test=np.zeros(len(y_te), np.int64),
        stage_classes=tuple(modes),
        num_classes=len(names),
        name=f"{s.kind}-online",
        class_names=tuple(names),
        images=np.concatenate([x_tr, x_te]),
    )


def regroup(stream: Stream, modes: tuple[tuple[int, ...], ...], config: Config) -> Stream:
    """The stream with its stages replaced by ``modes``; classes in no mode are left out."""
    o = config.online
    flat = [c for m in modes for c in m]
    if max(flat) >= stream.num_classes:
        raise DataError(
            f"online.modes: class {max(flat)} does not exist; this stream has classes 0..{stream.num_classes - 1}"
        )
    if len(modes) != len(o.mode_probs):
        raise DataError(
            f"online.mode_probs: this stream has {len(modes)} modes ({_describe(modes)}); "
            f"give {len(modes)} probabilities, got {len(o.mode_probs)}"
        )
    if min(len(m) for m in modes) < o.n_way:
        raise DataError(
            f"online.n_way: must be at most the smallest mode's size ({min(len(m) for m in modes)}); got {o.n_way}"
        )
    table = np.full(stream.num_classes, -1, dtype=np.int64)
    for m, classes in enumerate(modes):
        table[list(classes)] = m
    keep_tr, keep_te = table[stream.y_train] >= 0, table[stream.y_test] >= 0
    images = stream.images
    if images is not None:
        images = np.concatenate([images[: len(keep_tr)][keep_tr], images[len(keep_tr) :][keep_te]])
    y_tr = stream.y_train[keep_tr]
    return dataclasses.replace(
        stream,
        x_train=stream.x_train[keep_tr],
        y_train=y_tr,
        stage_train=table[y_tr],
        x_test=stream.x_test[keep_te],
        y_test=stream.y_test[keep_te],
        stage_test=table[stream.y_test[keep_te]],
        stage_classes=tuple(tuple(m) for m in modes),
        images=images,
        pretrain_rows=np.flatnonzero(table[y_tr] == 0),
    )


def _describe(modes: tuple[tuple[int, ...], ...]) -> str:
    return " | ".join(",".join(str(c) for c in m) for m in modes)
