"""The shipped image CNN: weights load safely, bad files are named, embeddings are cached."""

import hashlib
import json

import numpy as np
import pytest
import torch

from dkvb_core import DataError
from dkvb_core import image_encoder as ie
from dkvb_core.encoders import make_encoder
from dkvb_core.streams.images import flatten_pixels, load_digits_images, load_mnist5k_images

RECORD = json.loads((ie.ENCODER_DIR / "cnn_encoders.json").read_text())


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test gets an empty disk cache and an empty memory cache."""
    monkeypatch.setenv("DKVB_CACHE_DIR", str(tmp_path / "cache"))
    ie.clear_memory_cache()
    yield tmp_path / "cache"
    ie.clear_memory_cache()


@pytest.mark.parametrize("name", sorted(set(ie.WEIGHTS_FOR.values())))
def test_shipped_weights_load_and_match_their_record(name):
    path = ie.ENCODER_DIR / name
    assert path.stat().st_size <= 1_000_000
    assert hashlib.sha256(path.read_bytes()).hexdigest() == RECORD[name]["sha256"]
    model = ie.load_cnn(path)
    assert sum(p.numel() for p in model.parameters()) == RECORD[name]["parameters"]
    assert 0.8 <= RECORD[name]["test_accuracy"] <= 1.0


def test_no_set_is_encoded_by_a_cnn_trained_on_it():
    for stream_name, weights in ie.WEIGHTS_FOR.items():
        assert stream_name in RECORD[weights]["encodes"]
        assert RECORD[weights]["trained_on"] != stream_name
        if stream_name == "digits":  # digits are digits: never encoded by the MNIST-trained CNN either
            assert RECORD[weights]["trained_on"] != "mnist"


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match=r"weights file not found: .*nothing\.pt; retrain with .*train_cnn\.py"):
        ie.load_cnn(tmp_path / "nothing.pt")
    with pytest.raises(DataError, match="weights file not found"):
        ie.CNNEncoder("mnist", path=tmp_path / "nothing.pt")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_corrupt_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x04 definitely not a torch file" * 10)
    with pytest.raises(DataError, match="corrupt or not a torch state dict"):
        ie.load_cnn(bad)
    good = (ie.ENCODER_DIR / "cnn_mnist.pt").read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="corrupt"):
        ie.load_cnn(truncated)


def test_weights_of_another_network_are_rejected(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"layer.weight": torch.zeros(3, 3)}, other)
    with pytest.raises(DataError, match="does not fit the CNN"):
        ie.load_cnn(other)
    not_a_dict = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], not_a_dict)
    with pytest.raises(DataError, match="not a state dict"):
        ie.load_cnn(not_a_dict)


class Evil:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_pickled_objects_are_refused_by_weights_only(tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, evil)
    with pytest.raises(DataError, match="corrupt or not a torch state dict"):
        ie.load_cnn(evil)
    assert "pickled code ran" not in capsys.readouterr().out


def test_cnn_input_places_8x8_digits_like_mnist():
    x = np.ones((3, 64), np.float32)
    t = ie.to_cnn_input(x)
    assert t.shape == (3, 1, 28, 28)
    assert float(t[:, :, :4].abs().sum()) == 0.0 and float(t[:, :, 4:24, 4:24].min()) > 0.99
    y = np.random.default_rng(0).random((2, 784), dtype=np.float32)
    np.testing.assert_array_equal(ie.to_cnn_input(y).numpy().reshape(2, -1), y)
    with pytest.raises(DataError, match="square images"):
        ie.to_cnn_input(np.zeros((2, 10), np.float32))


def test_encoder_is_deterministic_and_standardised():
    x = flatten_pixels(load_mnist5k_images()[0][:300])
    enc = ie.CNNEncoder("mnist")
    a = enc.encode(x)
    ie.clear_memory_cache()
    b = ie.CNNEncoder("mnist", path=enc.path)._compute(x)
    assert a.shape == (300, ie.EMBEDDING_DIM) and a.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert abs(float(a.mean())) < 1.0 and 0.2 < float(a.std()) < 3.0


def test_embeddings_are_cached_in_memory_and_on_disk(private_cache):
    x = flatten_pixels(load_digits_images()[0][:50])
    enc = ie.CNNEncoder("digits")
    first = enc.encode(x)
    assert not enc.last_from_cache
    files = list((private_cache / "embeddings").glob("digits-cnn-*.npz"))
    assert len(files) == 1 and enc.digest in files[0].name
    enc.encode(x)
    assert enc.last_from_cache
    ie.clear_memory_cache()
    again = enc.encode(x)
    assert enc.last_from_cache
    np.testing.assert_array_equal(first, again)
    files[0].write_bytes(b"damaged")  # a damaged entry is recomputed, never an error
    ie.clear_memory_cache()
    np.testing.assert_allclose(enc.encode(x), first, atol=1e-6)
    assert not enc.last_from_cache


def test_disk_cache_can_be_turned_off(private_cache, monkeypatch):
    monkeypatch.setenv("DKVB_CACHE_DIR", "off")
    enc = ie.CNNEncoder("digits")
    enc.encode(flatten_pixels(load_digits_images()[0][:5]))
    assert ie.cache_dir() is None and not private_cache.exists()


def test_the_registered_cnn_picks_weights_by_data_set():
    assert make_encoder("cnn", 784, "fashion").path.name == "cnn_mnist.pt"
    assert make_encoder("cnn", 784, "mnist").path.name == "cnn_fashion.pt"
    assert make_encoder("cnn", 64, "digits").path.name == "cnn_fashion.pt"
    with pytest.raises(DataError, match="use identity for toy"):
        make_encoder("cnn", 2, "toy")


def test_same_config_and_seed_give_the_same_numbers_cached_or_not():
    from dkvb_core import preset, run

    cfg = preset("mnist").replace(**{"train.steps_per_stage": 15, "record.every": 0, "dkvb.keys_per_codebook": 64})
    first = run(cfg)  # embeddings computed
    ie.clear_memory_cache()
    second = run(cfg)  # embeddings read back from the disk cache
    for name in first.models:
        np.testing.assert_array_equal(first.accuracy_matrix(name), second.accuracy_matrix(name))
        np.testing.assert_array_equal(first.models[name].test_predictions, second.models[name].test_predictions)


def test_encoder_record_describes_the_weights_in_use():
    rec = ie.encoder_record("fashion")
    assert rec["trained_on"] == "mnist" and rec["test_accuracy"] == RECORD["cnn_mnist.pt"]["test_accuracy"]
    assert ie.encoder_record("toy") == {}
