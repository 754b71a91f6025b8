"""Toy stream sampling and CSV loading, with every CSV fault named."""

import numpy as np
import pytest

from dkvb_core import Config, DataError, build_stream
from dkvb_core.streams import load_csv_stream


def test_toy_default_shape_and_stages():
    s = build_stream(Config())
    assert s.x_train.shape == (800, 2) and s.x_test.shape == (800, 2)
    assert s.stage_classes == ((0, 4), (1, 5), (2, 6), (3, 7))
    for stage, classes in enumerate(s.stage_classes):
        assert set(np.unique(s.y_train[s.stage_train == stage])) == set(classes)
        assert (s.stage_test == stage).sum() == 200


def test_toy_is_seeded():
    a, b = build_stream(Config()), build_stream(Config())
    np.testing.assert_array_equal(a.x_train, b.x_train)
    c = build_stream(Config(seed=1))
    assert not np.array_equal(a.x_train, c.x_train)
    d = build_stream(Config.from_dict({"seed": 1, "stream": {"seed": 0}}))
    np.testing.assert_array_equal(a.x_train, d.x_train)


@pytest.mark.parametrize("layout", ["circle", "grid", "random"])
def test_layouts_put_classes_apart(layout):
    s = build_stream(Config.from_dict({"stream": {"layout": layout, "spread": 0.1}}))
    means = np.stack([s.x_train[s.y_train == c].mean(0) for c in range(8)])
    dists = np.linalg.norm(means[:, None] - means[None], axis=-1) + np.eye(8) * 1e9
    assert dists.min() > 0.3


def test_consecutive_order_and_explicit_stages():
    c = Config.from_dict({"stream": {"stage_order": "consecutive", "classes_per_stage": 3}})
    assert c.stream.resolved_stage_classes() == ((0, 1, 2), (3, 4, 5), (6, 7))
    e = Config.from_dict({"stream": {"stage_classes": [[7], [0, 1]]}})
    s = build_stream(e)
    assert set(np.unique(s.y_train)) == {0, 1, 7}  # classes in no stage are left out


def csv_bytes(text: str) -> bytes:
    return text.encode()


GOOD = ",Feature_1,Feature_2,Labels\n" + "".join(
    f"{i},{(i % 4) * 3 + 0.1 * (i % 7)},{(i % 4) * -2 + 0.05 * i},{i % 4}\n" for i in range(40)
)


def test_csv_with_pandas_index_column():
    s = load_csv_stream(csv_bytes(GOOD), classes_per_stage=2)
    assert s.num_classes == 4 and s.num_stages == 2
    assert len(s.x_train) + len(s.x_test) == 40
    assert s.class_names == ("0", "1", "2", "3")


def test_csv_with_stage_column_and_odd_labels():
    text = "Feature_1,Feature_2,Labels,Stage\n" + "".join(f"{i},{-i},{10 + i % 2},{i // 10}\n" for i in range(30))
    s = load_csv_stream(csv_bytes(text))
    assert s.num_stages == 3 and s.class_names == ("10", "11")
    assert s.stage_classes == ((0, 1), (0, 1), (0, 1))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a,b\n1,2\n", "missing Feature_1, Feature_2, Labels"),
        ("Feature_1,Feature_2,Labels,Colour\n1,2,0,red\n", "unexpected Colour"),
        ("Feature_1,Feature_2,Labels\n1,x,0\n2,3,1\n1,2,0\n2,3,1\n", "Feature_2: non-numeric value 'x' in data row 1"),
        ("Feature_1,Feature_2,Labels\n1,,0\n2,3,1\n1,2,0\n2,3,1\n", "Feature_2: empty or NaN value in data row 1"),
        ("Feature_1,Feature_2,Labels\n1,2,0\n2,3,0\n1,2,0\n2,3,0\n", "only one class"),
        ("Feature_1,Feature_2,Labels\n1,2,0.5\n2,3,1\n1,2,0\n2,3,1\n", "whole numbers"),
        ("Feature_1,Feature_2,Labels\n1,2,0\n", "at least 4"),
        ("Feature_1,Feature_2,Labels\n1,2,0\n2,3,1\n1,2,0\n2,3,2\n", "class 1 has 1 row"),
        ("", "not a readable CSV"),
    ],
)
def test_csv_faults_are_named(text, fragment):
    with pytest.raises(DataError, match=None) as info:
        load_csv_stream(csv_bytes(text))
    assert fragment in str(info.value)


def test_csv_too_large_and_binary():
    with pytest.raises(DataError, match="larger than the limit"):
        load_csv_stream(b"x" * 6_000_000)
    with pytest.raises(DataError, match=r"not UTF-8 text.*save it as CSV UTF-8"):
        load_csv_stream(bytes(range(256)) * 10)


def test_csv_in_utf16_with_bom_or_utf8_with_bom_or_spaced_header_reads_the_same():
    expected = load_csv_stream(csv_bytes(GOOD))
    for data in (
        GOOD.encode("utf-16"),  # spreadsheets' "Unicode text": UTF-16 with a byte-order mark
        GOOD.encode("utf-8-sig"),
        GOOD.replace("Feature_1,Feature_2,Labels", "Feature_1, Feature_2, Labels").encode(),
    ):
        s = load_csv_stream(data)
        np.testing.assert_array_equal(s.x_train, expected.x_train)
        assert s.digest() == expected.digest()


def test_csv_path_missing_is_named(tmp_path):
    c = Config.from_dict({"stream": {"kind": "csv", "csv_path": str(tmp_path / "nope.csv")}})
    with pytest.raises(DataError, match=r"stream\.csv_path: no such file"):
        build_stream(c)


def test_stream_digest_tells_streams_apart():
    a = load_csv_stream(csv_bytes(GOOD))
    assert a.digest() == load_csv_stream(csv_bytes(GOOD)).digest()
    assert a.digest() != load_csv_stream(csv_bytes(GOOD), seed=1).digest()
