"""Train the two frozen image encoders the app ships, each on a data set it will never encode.

- ``cnn_fashion.pt``: trained on Fashion-MNIST (train file), encodes the digit sets (digits, mnist);
  accuracy measured on Fashion-MNIST's 10,000 test images.
- ``cnn_mnist.pt``: trained on the MNIST 5k subset (90 % of it, seeded), encodes Fashion-MNIST;
  accuracy measured on the other 10 %.

Run from the repository root: ``python assets/encoders/train_cnn.py`` (a few minutes on 2 CPU
cores). Seeded and deterministic; writes the weights (state dicts, loaded with
``weights_only=True``) and ``cnn_encoders.json`` (settings, test accuracy, sizes, SHA-256).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository root, so dkvb_core imports without installing

from dkvb_core.image_encoder import ImageCNN, to_cnn_input  # noqa: E402
from dkvb_core.streams.images import flatten_pixels, load_fashion_images, load_mnist5k_images  # noqa: E402

SETTINGS = {
    "cnn_fashion.pt": {"trained_on": "fashion", "encodes": ["digits", "mnist"], "epochs": 3, "train_limit": 30000},
    "cnn_mnist.pt": {"trained_on": "mnist", "encodes": ["fashion"], "epochs": 20, "train_limit": None},
}
BATCH, LR, WEIGHT_DECAY, SEED, SHIFT = 128, 2e-3, 1e-4, 0, 2


def data(trained_on: str, limit: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and test images (flattened, [0, 1]) and labels of the training set."""
    rng = np.random.default_rng(SEED)
    if trained_on == "fashion":
        x, y = load_fashion_images("train")
        xt, yt = load_fashion_images("t10k")
        if limit:
            keep = np.sort(rng.permutation(len(y))[:limit])
            x, y = x[keep], y[keep]
    else:
        images, labels = load_mnist5k_images()
        order = rng.permutation(len(labels))
        n_test = len(labels) // 10
        test, train = order[:n_test], order[n_test:]
        x, y, xt, yt = images[train], labels[train], images[test], labels[test]
    return flatten_pixels(x), y, flatten_pixels(xt), yt


def random_shift(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Augmentation: move each image by up to SHIFT pixels (zero fill), seeded."""
    padded = nn.functional.pad(x, (SHIFT,) * 4)
    dx, dy = torch.randint(0, 2 * SHIFT + 1, (2, len(x)), generator=g)
    out = torch.empty_like(x)
    for i in range(len(x)):
        out[i] = padded[i, :, dy[i] : dy[i] + 28, dx[i] : dx[i] + 28]
    return out


def accuracy(model: ImageCNN, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i : i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return float((pred == y).float().mean())


def train(name: str, cfg: dict) -> dict:
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    x, y, xt, yt = data(cfg["trained_on"], cfg["train_limit"])
    x, xt = to_cnn_input(x), to_cnn_input(xt)
    y, yt = torch.as_tensor(y), torch.as_tensor(yt)
    model = ImageCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    steps = cfg["epochs"] * -(-len(x) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    start = time.perf_counter()
    for epoch in range(cfg["epochs"]):
        model.train()
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), BATCH):
            rows = order[i : i + BATCH]
            loss = nn.functional.cross_entropy(model(random_shift(x[rows], g)), y[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"{name}: epoch {epoch + 1}/{cfg['epochs']} test accuracy {accuracy(model, xt, yt):.4f}", flush=True)
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():  # standardise the embedding with its statistics on the training images
        feats = torch.cat([model.features(x[i : i + 1000]) for i in range(0, len(x), 1000)])
        model.embed_mean.copy_(feats.mean(0))
        model.embed_std.copy_(feats.std(0) + 1e-3)
    path = HERE / name
    torch.save(model.state_dict(), path)
    return {
        "trained_on": cfg["trained_on"],
        "encodes": cfg["encodes"],
        "train_images": len(x),
        "test_images": len(xt),
        "test_accuracy": round(accuracy(model, xt, yt), 4),
        "epochs": cfg["epochs"],
        "batch_size": BATCH,
        "optimizer": f"AdamW lr {LR} (one-cycle), weight decay {WEIGHT_DECAY}",
        "augmentation": f"random shifts up to {SHIFT} px",
        "seed": SEED,
        "parameters": sum(p.numel() for p in model.parameters()),
        "bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "train_seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(SETTINGS), help="train one of the two encoders")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    record_path = HERE / "cnn_encoders.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    for name, cfg in SETTINGS.items():
        if args.only in (None, name):
            record[name] = train(name, cfg)
    record["_meta"] = {
        "script": "assets/encoders/train_cnn.py",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "architecture": "3 conv blocks (16, 32, 32 channels, BatchNorm, ReLU), 2x2 average pool -> 128-d embedding, "
        "standardised with its mean and std on the training images",
    }
    record_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(json.dumps(record, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
