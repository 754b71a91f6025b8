"""CSV uploads: labels that do not fit an integer and features past a sane range are refused, naming the
column and the row (issue 15, item 4)."""

import pytest

from dkvb_core import DataError
from dkvb_core.streams import load_csv_stream

HEADER = "Feature_1,Feature_2,Labels\n"
GOOD = "".join(f"{i % 3}.5,{i % 5}.25,{i % 2}\n" for i in range(20))


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("0,0,1e20\n", "Labels: value 1e+20 in data row 21 is outside"),
        (f"0,0,{2**63}\n", "Labels: value 9.22337e+18"),
        (f"0,0,{-(2**31)}\n", "Labels: value -2.14748e+09"),
        ("1e30,0,1\n", "Feature_1: value 1e+30 in data row 21 is outside [-1,000,000, 1,000,000]; rescale"),
        ("0,-3.5e38,1\n", "Feature_2: value -3.5e+38"),
        ("0,1e309,1\n", "Feature_2: infinite value"),
        ("0,0,1.5\n", "Labels: must hold whole numbers"),
    ],
)
def test_out_of_range_values_are_named(row, fragment):
    with pytest.raises(DataError) as info:
        load_csv_stream((HEADER + GOOD + row).encode())
    assert fragment in str(info.value), str(info.value)


def test_stage_beyond_int32_refused():
    text = "Feature_1,Feature_2,Labels,Stage\n" + "".join(f"{i},{i},{i % 2},{i % 2}\n" for i in range(20))
    with pytest.raises(DataError, match="Stage: value"):
        load_csv_stream((text + "0,0,1,99999999999\n").encode())


def test_values_at_the_limits_still_load():
    stream = load_csv_stream((HEADER + GOOD + f"1000000,-1000000,{2**31 - 1}\n1,1,{2**31 - 1}\n").encode())
    assert stream.num_classes == 3 and "2147483647" in stream.class_names
