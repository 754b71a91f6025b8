"""Saved runs: a damaged or doctored .json / .npz is refused on load with the member named (issue 15, item 5)."""

import base64
import io
import json
import zipfile

import numpy as np
import pytest

from dkvb_core import Config, DataError, RunResult, run_seeds

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def saved():
    config = Config().replace(**{"train.steps_per_stage": 20, "dkvb.keys_per_codebook": 16, "record.grid_size": 8})
    return run_seeds(config, [0])[0].to_dict()


def _array(arr: np.ndarray) -> dict:
    return {"__ndarray__": base64.b64encode(arr.tobytes()).decode(), "dtype": arr.dtype.str, "shape": list(arr.shape)}


def _load_json(tmp_path, doc) -> RunResult:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    return RunResult.load(path)


def test_round_trip_still_loads(tmp_path, saved):
    back = _load_json(tmp_path, saved)
    assert back.models["dkvb"].key_usage_frames.shape[1:] == (1, 16)
    path = tmp_path / "run.npz"
    back.save(path)
    assert RunResult.load(path).summaries() == back.summaries()


def _doctor(doc, where, value):
    doc = json.loads(json.dumps(doc))
    node = doc
    for part in where[:-1]:
        node = node[part]
    if value is KeyError:
        del node[where[-1]]
    else:
        node[where[-1]] = value(node[where[-1]]) if callable(value) else value
    return doc


CASES = {
    "missing member": (("frame_steps",), KeyError, "frame_steps: missing"),
    "missing model member": (("models", "dkvb", "stage_accuracy"), KeyError, "models.dkvb.stage_accuracy: missing"),
    "accuracy above 1": (
        ("models", "mlp", "stage_accuracy"),
        lambda v: _array(np.full(v["shape"], 1.5, np.float32)),
        "models.mlp.stage_accuracy: accuracies must be finite fractions in [0, 1]",
    ),
    "accuracy NaN": (
        ("models", "mlp", "stage_accuracy"),
        lambda v: _array(np.full(v["shape"], np.nan, np.float32)),
        "models.mlp.stage_accuracy",
    ),
    "wrong shape": (
        ("models", "linear", "stage_accuracy"),
        lambda v: _array(np.zeros((v["shape"][0], 3), np.float32)),
        "models.linear.stage_accuracy: shape",
    ),
    "wrong dtype": (("frame_steps",), lambda v: {**v, "dtype": "|O"}, "frame_steps: dtype"),
    "string dtype": (("frame_steps",), lambda v: {**v, "dtype": "<U4"}, "frame_steps: dtype"),
    "data shorter than shape": (("frame_steps",), lambda v: {**v, "shape": [v["shape"][0] + 5]}, "frame_steps:"),
    "negative shape": (("frame_steps",), lambda v: {**v, "shape": [-1]}, "frame_steps: shape"),
    "not base64": (("frame_steps",), lambda v: {**v, "__ndarray__": "!!!"}, "frame_steps: the data is not base64"),
    "keys disagree with config": (("config", "dkvb", "keys_per_codebook"), 32, "keys per codebook in the config"),
    "grid disagrees with config": (("config", "record", "grid_size"), 9, "grid"),
    "bad config value": (("config", "dkvb", "lr"), -1, "config.dkvb.lr"),
    "boolean batch": (("batch_size",), True, "batch_size"),
    "unknown model": (("models", "evil"), lambda _: {}, "models.evil"),
    "unknown member": (("__class__",), "x", "__class__: unknown member"),
    "models not an object": (("models",), [1, 2], "models"),
    "class names not strings": (("class_names",), [1, 2], "class_names"),
    "key index out of range": (
        ("models", "dkvb", "train_key_index"),
        lambda v: _array(np.full(v["shape"], 99, np.int32)),
        "models.dkvb.train_key_index: indices must lie in [0, 15]",
    ),
    "format version": (("format_version",), 99, "format_version"),
}


def _setdefault_missing(doc, where):
    node = doc
    for part in where[:-1]:
        node = node[part]
    node.setdefault(where[-1], None)


@pytest.mark.parametrize("case", list(CASES))
def test_doctored_json_is_refused_naming_the_member(tmp_path, saved, case):
    where, value, fragment = CASES[case]
    doc = json.loads(json.dumps(saved))
    _setdefault_missing(doc, where)
    doc = _doctor(doc, where, value)
    with pytest.raises(DataError) as info:
        _load_json(tmp_path, doc)
    assert "run file" in str(info.value) and fragment in str(info.value), str(info.value)


def _npz_with(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("run.json", b"", "file: empty"),
        ("run.npz", b"", "file: empty"),
        ("run.json", PNG, "run file"),
        ("run.npz", PNG, "file: not a run .npz"),
        ("run.json", b'{"format_version": 1, "config": {', "is not valid JSON"),
        ("run.json", b"[" * 30_000 + b"]" * 30_000, "nested"),
        ("run.json", b'{"format_version": 1, "seconds": ' + b"9" * 5000 + b"}", "a number of 5,000 characters"),
        ("run.json", b"\xff\xfe\x00garbage", "not UTF-8"),
        ("run.npz", _npz_with({"other.npy": _npy(np.zeros(3))}), "run: member missing"),
        ("run.npz", _npz_with({"run.npy": _npy(np.zeros(3))}), "run: must be one string"),
        ("run.npz", _npz_with({"run.npy": _npy(np.array([{"a": 1}], dtype=object))}), "run: not a text array"),
        ("run.npz", _npz_with({"run.npy": b"not npy"}), "run file"),
    ],
    ids=[
        "empty-json",
        "empty-npz",
        "png-as-json",
        "png-as-npz",
        "truncated",
        "deep",
        "huge-int",
        "bad-utf8",
        "npz-no-run",
        "npz-run-not-text",
        "npz-pickle",
        "npz-bad-member",
    ],
)
def test_damaged_files_are_refused(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        RunResult.load(path)
    assert fragment in str(info.value), str(info.value)


def test_truncated_npz_is_refused(tmp_path, saved):
    path = tmp_path / "run.npz"
    RunResult.from_dict(saved).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="run file"):
        RunResult.load(path)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="run file: file: cannot read"):
        RunResult.load(tmp_path / "nope.npz")
