"""Write the example features file: scikit-learn's 1,797 digits through the project's frozen CNN.

    python assets/features/make_digits_embeddings.py            # writes assets/features/digits_cnn.npz

The CNN (``assets/encoders/cnn_fashion.pt``, trained on Fashion-MNIST only, see ``train_cnn.py``) maps each
8x8 digit to a standardised 128-d embedding, the kind of file a researcher brings from their own backbone.
The file holds ``x`` (1,797 x 128 float32) and ``y`` (the digit, 0-9) and no split: the stream holds out a
seeded fraction of each class. Deterministic: the same weights give the same file.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dkvb_core.image_encoder import CNNEncoder  # noqa: E402
from dkvb_core.streams.features import save_features  # noqa: E402
from dkvb_core.streams.images import flatten_pixels, load_digits_images  # noqa: E402

OUT = ROOT / "assets" / "features" / "digits_cnn.npz"


def main() -> None:
    images, labels = load_digits_images()
    encoder = CNNEncoder("digits")
    x = encoder._compute(flatten_pixels(images))  # noqa: SLF001 - bypass the cache: always from the weights
    save_features(OUT, x, labels)
    print(f"wrote {OUT.relative_to(ROOT)}: x {x.shape} float32, y {labels.shape}, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
