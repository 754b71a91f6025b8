"""The features stream: N-d embeddings from .npz, CSV or Parquet, every fault named, the same stream from each."""

import io
import json

import numpy as np
import pandas as pd
import pytest

from dkvb_core import Config, ConfigError, DataError, build_stream
from dkvb_core.cli import main
from dkvb_core.encoders import RandomProjectionSplit, make_splitter
from dkvb_core.models import model_names
from dkvb_core.presets import EXAMPLE_FEATURES, preset
from dkvb_core.streams import features as feats
from dkvb_core.streams.features import load_features_stream, read_features, save_features


def clustered(n_per_class=20, classes=6, dim=12, seed=0):
    rng = np.random.default_rng(seed)
    means = 3 * rng.normal(size=(classes, dim))
    y = np.repeat(np.arange(classes), n_per_class) * 10 + 3  # labels 3, 13, 23, ...: not 0..n-1
    x = (means[y // 10] + rng.normal(size=(len(y), dim))).astype(np.float32)
    return x, y


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def fault(data: bytes | str) -> str:
    with pytest.raises(DataError) as exc:
        load_features_stream(data)
    return str(exc.value)


# --- faults, one by one ------------------------------------------------------------------------------


def test_missing_and_unexpected_arrays_are_named():
    x, y = clustered()
    assert fault(npz_bytes(x=x)).startswith("y: array missing")
    assert "x: array missing" in fault(npz_bytes(features=x, y=y))
    assert "labels: unexpected array" in fault(npz_bytes(x=x, y=y, labels=y))


def test_shapes_that_disagree_are_named():
    x, y = clustered()
    assert fault(npz_bytes(x=x, y=y[:-1])).startswith(f"y: shape ({len(y) - 1},) disagrees with x")
    assert "stage: shape" in fault(npz_bytes(x=x, y=y, stage=np.zeros((len(y), 2))))
    assert fault(npz_bytes(x=x[:, 0], y=y)).startswith("x: must be 2-D")
    assert fault(npz_bytes(x=x.astype(np.complex64), y=y)).startswith("x: must hold real numbers")


def test_nan_row_is_named_in_npz_and_csv(tmp_path):
    x, y = clustered()
    x[17, 4] = np.nan
    assert fault(npz_bytes(x=x, y=y)) == (
        "x: row 17 has a value that is NaN or empty (column 4); every value must be a finite float32"
    )
    x[17, 4] = 0
    x64 = x.astype(np.float64)
    x64[5, 2] = 1e300  # finite in float64, infinite as float32
    assert "x: row 5 has a value that is 1e+300, beyond float32's range" in fault(npz_bytes(x=x64, y=y))
    path = tmp_path / "f.csv"
    save_features(path, x, y)
    text = path.read_text().splitlines()
    cells = text[9].split(",")
    cells[2] = ""
    text[9] = ",".join(cells)
    path.write_text("\n".join(text))
    assert fault(str(path)).startswith("x: data row 9 has a value that is NaN or empty (Feature_3)")


def test_a_class_with_one_sample_is_named():
    x, y = clustered()
    y[0] = 999
    assert fault(npz_bytes(x=x, y=y)).startswith("y: class 999 has one sample")


def test_a_stage_without_test_or_training_data_is_named():
    x, y = clustered(classes=4)
    stage = (y // 10) // 2  # stages 0, 1
    split = np.where(stage == 1, 0, np.arange(len(y)) % 2)
    assert fault(npz_bytes(x=x, y=y, stage=stage, split=split)) == (
        "split: stage 1 has no test data; every stage needs held-out samples to score"
    )
    split = np.where(stage == 0, 1, np.arange(len(y)) % 2)
    assert fault(npz_bytes(x=x, y=y, stage=stage, split=split)).startswith("split: stage 0 has no training data")


@pytest.mark.parametrize(
    ("shape", "fragment"),
    [((feats.MAX_ROWS + 1, 1), "x: 100,001 samples; at most 100,000"), ((2, feats.MAX_DIM + 1), "x: 4,097 features")],
)
def test_too_many_samples_or_features_are_refused_from_the_header(shape, fragment):
    assert fragment in fault(npz_bytes(x=np.zeros(shape, np.float32), y=np.zeros(shape[0], np.int64)))


def test_too_many_classes_and_too_large_a_file(monkeypatch):
    y = np.repeat(np.arange(feats.MAX_CLASSES + 1), 2)
    x = np.random.default_rng(0).normal(size=(len(y), 2)).astype(np.float32)
    said = "y: 255 classes; at most 254 are allowed (predictions are stored one byte each)"
    assert fault(npz_bytes(x=x, y=y)) == said
    data = npz_bytes(x=x, y=y)
    monkeypatch.setattr(feats, "MAX_BYTES", len(data) - 1)
    assert fault(data).startswith(f"file: {len(data):,} bytes is larger than the limit")
    buf = io.BytesIO()  # a small compressed file whose x would not fit in memory limits unpacked
    np.savez_compressed(buf, x=np.zeros((50_000, 2), np.float32), y=np.zeros(50_000, np.int64))
    monkeypatch.setattr(feats, "MAX_BYTES", 100_000)
    assert len(buf.getvalue()) < 100_000
    assert fault(buf.getvalue()) == ("x: 50,000 x 2 is 400,000 bytes as float32, more than the limit of 100,000 bytes")


def test_no_pickle_and_no_text_labels():
    x, y = clustered()
    objects = npz_bytes(x=x, y=np.array([str(v) for v in y], dtype=object))
    assert fault(objects).startswith("y: holds Python objects, which are not loaded (no pickle)")
    assert fault(npz_bytes(x=x, y=y + 0.5)).startswith("y: row 0 holds")
    assert fault(npz_bytes(x=x, y=np.array([f"c{v}" for v in y]))).startswith("y: must hold whole numbers")


def test_bad_split_values_and_table_columns(tmp_path):
    x, y = clustered()
    assert fault(npz_bytes(x=x, y=y, split=np.full(len(y), 2))).startswith("split: row 0 holds 2")
    df = pd.DataFrame({"Feature_1": x[:, 0], "Feature_3": x[:, 1], "Labels": y})
    assert fault(df.to_csv(index=False).encode()).startswith("columns: Feature_2 missing")
    df = pd.DataFrame({"Feature_1": x[:, 0], "Labels": y, "Colour": 1})
    assert fault(df.to_csv(index=False).encode()).startswith("columns: unexpected Colour")
    df = pd.DataFrame({"Feature_1": x[:, 0], "Klass": y})
    assert fault(df.to_csv(index=False).encode()).startswith("columns: Labels missing")
    df = pd.DataFrame({"Feature_1": x[:, 0].astype(str), "Labels": y})
    df.loc[3, "Feature_1"] = "abc"
    assert fault(df.to_csv(index=False).encode()) == "Feature_1: non-numeric value 'abc' in data row 4"
    assert fault(b"PAR1 not really parquet PAR1").startswith("file: not a readable Parquet file")
    assert fault(str(tmp_path / "none.npz")).startswith("stream.path: no such file")


# --- the same stream from every format ---------------------------------------------------------------


@pytest.mark.parametrize("with_columns", [False, True])
def test_round_trip_npz_csv_parquet_give_the_same_stream(tmp_path, with_columns):
    x, y = clustered(dim=33)
    stage = ((y // 10) % 3) if with_columns else None
    split = (np.arange(len(y)) % 4 == 0) if with_columns else None
    streams = []
    for suffix in ("npz", "csv", "parquet"):
        path = tmp_path / f"f.{suffix}"
        save_features(path, x, y, stage, split)
        streams.append(load_features_stream(str(path), 2, "consecutive", 0.25, seed=5))
        assert feats.file_format(path.read_bytes()) == suffix
    first = streams[0]
    for s in streams[1:]:
        assert s.digest() == first.digest()
        assert s.class_names == first.class_names == tuple(str(v) for v in np.unique(y))
    np.testing.assert_array_equal(np.sort(np.concatenate([first.x_train, first.x_test]), axis=0), np.sort(x, axis=0))
    if with_columns:
        assert first.num_stages == 3 and len(first.y_test) == int(split.sum())
    else:
        assert first.stage_classes == ((0, 1), (2, 3), (4, 5))
        for c in range(6):  # a seeded quarter of every class is held out
            assert (first.y_test == c).sum() == 5


def test_split_is_seeded_and_the_pandas_index_column_is_dropped():
    x, y = clustered()
    data = npz_bytes(x=x, y=y)
    a, b, c = (load_features_stream(data, seed=s) for s in (1, 1, 2))
    assert a.digest() == b.digest() != c.digest()
    df = pd.DataFrame(x[:, :3], columns=["Feature_1", "Feature_2", "Feature_3"]).assign(Labels=y)
    with_index = read_features(df.to_csv().encode())
    assert with_index.x.shape == (len(y), 3) and with_index.tabular


# --- config, splitter, runs ---------------------------------------------------------------------------


def test_config_needs_a_path_and_takes_no_explicit_stage_classes():
    with pytest.raises(ConfigError, match=r"stream\.path: required"):
        Config.from_dict({"stream": {"kind": "features"}})
    with pytest.raises(ConfigError, match=r"stream\.stage_classes: not used with features"):
        Config.from_dict({"stream": {"kind": "features", "path": "a.npz", "stage_classes": [[0], [1]]}})
    c = Config.from_dict({"stream": {"kind": "features", "path": "a.npz", "classes_per_stage": 200}})
    assert c.stream.classes_per_stage == 200


def test_a_file_with_too_many_stages_for_the_steps_is_refused_after_reading(tmp_path):
    x, y = clustered(n_per_class=2, classes=120, dim=3)
    path = tmp_path / "many.npz"
    save_features(path, x, y)
    config = Config.from_dict(
        {"stream": {"kind": "features", "path": str(path), "classes_per_stage": 1}, "train": {"steps_per_stage": 1000}}
    )
    with pytest.raises(DataError, match=r"train\.steps_per_stage: 120 stages x 1000 steps = 120000, more than"):
        build_stream(config)
    assert build_stream(config.replace(**{"train.steps_per_stage": 500})).num_stages == 120


def test_auto_split_projects_n_d_inputs_even_for_one_codebook():
    assert isinstance(make_splitter("auto", 128, 1, None, seed=0), RandomProjectionSplit)
    assert not isinstance(make_splitter("auto", 2, 1, None, seed=0), RandomProjectionSplit)


def test_run_on_the_example_file_keeps_what_dkvb_learned():
    config = preset("digits-embeddings").replace(
        **{"train.steps_per_stage": 150, "train.models": ["dkvb", "linear", "mlp", "joint"], "record.every": 0}
    )
    stream = build_stream(config)
    assert stream.input_dim == 128 and stream.num_classes == 10 and stream.num_stages == 5
    assert len(stream.y_train) + len(stream.y_test) == 1797
    from dkvb_core.engine import run

    result = run(config)
    s = result.summaries()
    assert set(s) == {"dkvb", "linear", "mlp", "joint"}
    assert result.accuracy_matrix("dkvb").shape == (5, 5)
    assert s["dkvb"]["forgetting"] < 0.1 < s["linear"]["forgetting"]  # the bottleneck keeps; the probe forgets
    assert s["dkvb"]["average_accuracy"] > 0.8


def test_a_run_on_a_features_file_reports_progress_through_key_init_and_training():
    from dkvb_core.engine import run

    calls = []
    config = preset("digits-embeddings").replace(**{"train.steps_per_stage": 100, "train.models": ["dkvb", "mlp"]})
    run(config, progress=lambda done, total, phase="train": calls.append((phase, done, total)))
    phases = [c[0] for c in calls]
    assert phases[0] == "keys" and phases[-1] == "train" and set(phases) == {"keys", "train"}
    assert calls[-1][1:] == (500, 500)  # 5 stages x 100 steps, all done
    assert all(c[1] <= c[2] for c in calls)


def test_cli_takes_several_fields_after_one_set(tmp_path):
    out = tmp_path / "r.json"
    args = ["run", "--set", "stream.kind=features", f"stream.path={EXAMPLE_FEATURES}", "train.steps_per_stage=20"]
    assert main([*args, "--no-progress", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["config"]["stream"]["kind"] == "features" and doc["config"]["train"]["steps_per_stage"] == 20
    assert len(doc["results"]["dkvb"]["accuracy_matrix"]) == 5  # 10 digits, 2 a stage


@pytest.mark.parametrize("model", model_names())
def test_every_registry_model_runs_on_a_features_file(tmp_path, model):
    x, y = clustered(n_per_class=15, classes=4, dim=40)
    path = tmp_path / "f.parquet"
    save_features(path, x, y, stage=(y // 10) // 2)
    config = Config.from_dict(
        {
            "stream": {"kind": "features", "path": str(path)},
            "dkvb": {"num_codebooks": 4, "keys_per_codebook": 16},
            "train": {"models": [model], "steps_per_stage": 30},
            "record": {"every": 0},
        }
    )
    from dkvb_core.engine import run

    result = run(config)
    R = result.accuracy_matrix(model)
    assert R.shape == (2, 2) and np.isfinite(R).all()
    assert result.models[model].test_predictions.shape == (2, len(build_stream(config).y_test))


def test_the_most_classes_allowed_are_predicted_without_wrapping(tmp_path):
    """254 classes (the limit): every class id survives the one-byte predictions (class 253 is not 255,
    the 'no class' mark, nor wrapped round to a small id). 1,000 classes once wrapped 300 to 44."""
    from dkvb_core import Config, build_stream, run

    n = feats.MAX_CLASSES
    y = np.repeat(np.arange(n), 4)
    x = np.eye(n, dtype=np.float32)[y] * 10.0 + np.random.default_rng(1).normal(0, 0.1, (len(y), n)).astype(np.float32)
    path = tmp_path / "many.npz"
    np.savez(path, x=x, y=y)
    config = Config.from_dict(
        {
            "stream": {"kind": "features", "path": str(path), "classes_per_stage": n, "test_fraction": 0.5},
            "train": {"models": ["slda"], "steps_per_stage": 60},
            "record": {"every": 0},
        }
    )
    result = run(config)
    pred = result.models["slda"].test_predictions[-1]
    assert pred.max() == n - 1 and (pred == build_stream(config).y_test).mean() > 0.95
