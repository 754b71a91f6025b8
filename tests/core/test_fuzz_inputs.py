"""Every input surface fed random and hostile values (issue 15, "Done when"): config fields, link
parameters, CSV uploads, run files, sweep specs and logs, CLI flags. Each answer is a correct result
or a clear message naming the field; never a traceback. The cases are seeded (see fuzz_cases.py)."""

import random
from pathlib import Path

import pytest

from tests.core import fuzz_cases as fc


def _check(name, outcome):
    cases, failures = outcome
    print(f"fuzz {name}: {cases} cases, {len(failures)} failures")
    assert cases > 0
    assert not failures, f"{len(failures)} of {cases} {name} cases:\n" + "\n".join(failures[:15])


def test_config_fields():
    _check("config fields", fc.fuzz_config_fields(random.Random(151)))


def test_link_parameters():
    _check("link parameters", fc.fuzz_link_params(random.Random(152)))


def test_csv_uploads():
    _check("CSV uploads", fc.fuzz_csv(random.Random(153)))


@pytest.fixture(scope="module")
def run_document():
    return fc.small_run_document()


def test_run_files(run_document):
    _check("run files", fc.fuzz_run_files(random.Random(154), run_document))


def test_sweep_specs():
    _check("sweep specs", fc.fuzz_sweep_specs(random.Random(155)))


def test_sweep_logs(tmp_path):
    _check("sweep logs", fc.fuzz_sweep_logs(random.Random(156), tmp_path))


def test_cli_flags(tmp_path):
    root = Path(__file__).resolve().parents[2]
    before = set(root.iterdir())
    _check("CLI flags", fc.fuzz_cli(random.Random(157), tmp_path))
    assert set(root.iterdir()) == before, "accepted outputs land in the test's folder, not the repository"
