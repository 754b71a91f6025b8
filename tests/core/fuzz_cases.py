"""Random and hostile inputs for every input surface, and the contract each answer must keep.

Each ``fuzz_<surface>(rng)`` feeds its cases to the real entry point and returns ``(cases, failures)``:
a failure is a case answered by anything other than a correct result or the surface's clear error
(a ConfigError / DataError naming the field, or exit status 2 with ``error: <flag or field>: ...``),
e.g. a traceback, a RecursionError or a value accepted out of range. Seeded: the same cases every run.
Used by ``test_fuzz_inputs.py`` (and runnable against an older checkout to count what it failed).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np

from dkvb_core import Config, ConfigError, DataError, RunResult
from dkvb_core.config import describe_fields

HOSTILE: list[Any] = [
    True,
    False,
    None,
    "",
    " ",
    "１２",
    "1_0",
    " 5",
    "nan",
    "inf",
    "-inf",
    "NaN",
    "1e400",
    float("nan"),
    float("inf"),
    -float("inf"),
    1e308,
    -1e308,
    2**63,
    -(2**63),
    10**30,
    1e20,
    1.5,
    -1,
    0,
    "a" * 10_000,
    [],
    {},
    [[[]]],
    {"a": 1},
    [True, 1],
    [[0, 1], [1, 2]],
    "\x00",
    "<img src=x>",
    "![x](http://host.invalid/p.png)",
    "# head\n[Sign in](http://host.invalid)",
    "\udcff",
    "dkvb,linear,evil",
    "[" * 30_000 + "]" * 30_000,
    "9" * 5_000,
    "[" + "7" * 5_000 + "]",
    "true",
    "１２",
]
# As text on the command line / in a link or file (a JSON value as it would be typed).
HOSTILE_TEXT = [v if isinstance(v, str) else json.dumps(v) for v in HOSTILE]


def random_scalar(rng: random.Random) -> Any:
    """A hostile value, or a random number / string / nesting."""
    kind = rng.randrange(7)
    if kind == 0:
        return rng.choice(HOSTILE)
    if kind == 1:
        return rng.randint(-(10 ** rng.randint(0, 25)), 10 ** rng.randint(0, 25))
    if kind == 2:
        return rng.uniform(-1, 1) * 10 ** rng.randint(-10, 40)
    if kind == 3:
        return "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(0, 12)))
    if kind == 4:
        depth = rng.randint(1, 60)
        return json.loads("[" * depth + "]" * depth)
    if kind == 5:
        return [random_scalar(rng) for _ in range(rng.randint(0, 3))] if rng.random() < 0.5 else rng.randint(0, 70)
    return rng.choice(["sgd", "adam", "mlp", "dkvb", "circle", "grid", "kmeans", "chunk", "toy", 0.1, 4, 64])


def _named(exc: ConfigError, *names: str) -> bool:
    """Every problem names a field (non-empty), and one of ``names`` appears in the fields or messages."""
    if not exc.problems or any(not f for f, _ in exc.problems):
        return False
    text = " ".join(f"{f} {m}" for f, m in exc.problems)
    return not names or any(n in text for n in names)


def _fail(failures: list[str], case: Any, what: str) -> None:
    failures.append(f"{str(case)[:120]} -> {what[:200]}")


# --- config fields -------------------------------------------------------------------------------


def fuzz_config_fields(rng: random.Random, per_field: int = 16) -> tuple[int, list[str]]:
    """Every settable field, hostile values: a valid Config with the value in range, or a ConfigError
    naming that field."""
    failures: list[str] = []
    cases = 0
    for name, _default, _allowed, _desc in describe_fields():
        for value in [*HOSTILE, *(random_scalar(rng) for _ in range(per_field))]:
            cases += 1
            try:
                config = Config().replace(**{name: value})
            except ConfigError as exc:
                if not _named(exc, name, name.split(".")[-1]):
                    _fail(failures, (name, value), f"message does not name the field: {exc}")
                continue
            except Exception as exc:
                _fail(failures, (name, value), f"{type(exc).__name__}: {exc}")
                continue
            got = config.to_dict()
            for part in name.split("."):
                got = got[part]
            if not _sane(value, got):
                _fail(failures, (name, value), f"accepted as {got!r}")
    return cases, failures


def _sane(given: Any, stored: Any) -> bool:
    """An accepted value is not a boolean read as a number, not non-finite, and not changed in kind."""
    if isinstance(given, bool) and not isinstance(stored, bool):
        return False
    if isinstance(stored, float) and not math.isfinite(stored):
        return False
    return not (isinstance(given, str) and isinstance(stored, int | float) and not given.isascii())


# --- link parameters -----------------------------------------------------------------------------


def fuzz_link_params(rng: random.Random, cases: int = 300) -> tuple[int, list[str]]:
    """config_from_query on random links: never raises; a hostile value of a known key is either used
    validly or named in a warning; unknown section.field keys are warned about."""
    from app.url_state import DEFAULTS, config_from_query

    fields = list(DEFAULTS)
    failures: list[str] = []
    links = [{field: text} for field in fields for text in HOSTILE_TEXT]  # every field, every hostile text
    links += [{f"dkvb.{text[:200]}": "1"} for text in HOSTILE_TEXT]  # hostile keys
    for _ in range(cases):
        params: dict[str, str] = {}
        for _ in range(rng.randint(1, 4)):
            key = (
                rng.choice(fields)
                if rng.random() < 0.7
                else rng.choice(
                    ["dkvb." + str(random_scalar(rng))[:80], "view.figure", "frame", str(random_scalar(rng))[:50]]
                )
            )
            value = random_scalar(rng)
            params[key] = value if isinstance(value, str) else json.dumps(value)
        links.append(params)
    for params in links:
        try:
            config, warnings = config_from_query(params)
        except Exception as exc:
            _fail(failures, params, f"{type(exc).__name__}: {exc}")
            continue
        if not isinstance(config, Config) or not all(isinstance(w, str) for w in warnings):
            _fail(failures, params, "not a Config and a list of messages")
            continue
        if any(len(w) > 400 for w in warnings):
            _fail(failures, params, "a warning echoes the whole value")
        flat = {k: v for k, v in _flatten(config.to_dict()).items()}
        for key in params:
            if key in DEFAULTS and flat.get(key) != DEFAULTS[key]:
                continue  # used (validated by Config)
            if (
                key in DEFAULTS
                and params[key].strip() not in ("", "null", "None")
                and not any(key[:40] in w for w in warnings)
            ):
                value = params[key]
                if _default_like(value, DEFAULTS[key]):
                    continue
                _fail(failures, (key, value), "dropped without a warning naming it")
    return len(links), failures


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out.update({f"{k}.{s}": w for s, w in v.items()})
        else:
            out[k] = v
    return out


def _default_like(text: str, default: Any) -> bool:
    with contextlib.suppress(ValueError, TypeError):
        return json.loads(text) == default or text == str(default)
    return text == str(default)


# --- CSV uploads ---------------------------------------------------------------------------------

CSV_FIELDS = ("file:", "columns:", "rows:", "Feature_1:", "Feature_2:", "Labels:", "Stage:")
CSV_TOKENS = ["1e20", str(2**63), "-1", "nan", "inf", "1e30", "abc", "", "１", "1.5", "0x10", "3.5e38", '"', "\x00"]


def _good_csv(rng: random.Random, stage: bool) -> list[list[str]]:
    rows = [["Feature_1", "Feature_2", "Labels", *(["Stage"] if stage else [])]]
    for i in range(rng.randint(8, 40)):
        label = i % rng.randint(2, 4)
        rows.append(
            [f"{rng.gauss(0, 2):.3f}", f"{rng.gauss(0, 2):.3f}", str(label), *([str(label // 2)] if stage else [])]
        )
    return rows


def fuzz_csv(rng: random.Random, cases: int = 200) -> tuple[int, list[str]]:
    """Uploads with a hostile cell, header or bytes: a valid stream (finite features in range, labels in
    0..n-1) or a DataError starting with the column or part at fault."""
    from dkvb_core.streams import load_csv_stream

    failures: list[str] = []
    for _ in range(cases):
        rows = _good_csv(rng, rng.random() < 0.3)
        mode = rng.randrange(4)
        if mode == 0:  # one hostile cell
            r, c = rng.randrange(1, len(rows)), rng.randrange(len(rows[0]))
            rows[r][c] = rng.choice(CSV_TOKENS)
        elif mode == 1:  # a hostile header
            rows[0][rng.randrange(len(rows[0]))] = rng.choice(["![x](h)", "Labels", "", "Feature_1 ", "<b>"])
        text = "\n".join(",".join(r) for r in rows).encode("utf-8")
        if mode == 2:  # random bytes flipped
            data = bytearray(text)
            for _ in range(rng.randint(1, 5)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            text = bytes(data)
        elif mode == 3:  # cut short
            text = text[: rng.randrange(len(text))]
        try:
            stream = load_csv_stream(text)
        except DataError as exc:
            if not str(exc).startswith(CSV_FIELDS):
                _fail(failures, text[:80], f"message does not name the column: {exc}")
            continue
        except Exception as exc:
            _fail(failures, text[:80], f"{type(exc).__name__}: {exc}")
            continue
        x = np.concatenate([stream.x_train, stream.x_test])
        if not np.isfinite(x).all() or np.abs(x).max() > 1e6 or stream.y_train.max() >= stream.num_classes:
            _fail(failures, text[:80], "accepted out-of-range data")
    return cases, failures


# --- run files -----------------------------------------------------------------------------------


def small_run_document() -> dict[str, Any]:
    from dkvb_core import run_seeds

    config = Config().replace(**{"train.steps_per_stage": 5, "dkvb.keys_per_codebook": 8, "record.grid_size": 4})
    return run_seeds(config, [0])[0].to_dict()


def _leaves(doc: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _leaves(v, (*path, k))
    return out


def fuzz_run_files(rng: random.Random, doc: dict[str, Any], cases: int = 150) -> tuple[int, list[str]]:
    """A saved run with one member deleted, replaced, re-typed or re-shaped, or its bytes damaged: loads
    (accuracies in [0, 1]) or a DataError naming the run file's member."""
    failures: list[str] = []
    paths = [p for p in _leaves(doc) if p]
    text = json.dumps(doc)
    for _ in range(cases):
        mode = rng.randrange(4)
        if mode < 2:
            d = json.loads(text)
            path = rng.choice(paths)
            node = d
            for part in path[:-1]:
                node = node[part]
            if mode == 0:
                del node[path[-1]]
            else:
                node[path[-1]] = _hostile_member(rng, node[path[-1]])
            raw: bytes = json.dumps(d).encode()
        elif mode == 2:
            raw = text.encode()[: rng.randrange(len(text))]
        else:
            data = bytearray(text.encode())
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            raw = bytes(data)
        try:
            result = RunResult.from_json(raw.decode("utf-8", "surrogateescape"))
        except DataError as exc:
            if not str(exc).startswith("run file"):
                _fail(failures, mode, f"message does not name the member: {exc}")
            continue
        except Exception as exc:
            _fail(failures, mode, f"{type(exc).__name__}: {str(exc)[:100]}")
            continue
        for rec in result.models.values():
            acc = rec.stage_accuracy
            if not (np.isfinite(acc).all() and (acc >= 0).all() and (acc <= 1).all()):
                _fail(failures, mode, "loaded an accuracy outside [0, 1]")
    return cases, failures


def _hostile_member(rng: random.Random, old: Any) -> Any:
    if isinstance(old, dict) and "__ndarray__" in old:
        arr = np.frombuffer(base64.b64decode(old["__ndarray__"]), dtype=np.dtype(old["dtype"]))
        choice = rng.randrange(5)
        if choice == 0:
            return {**old, "dtype": rng.choice(["|O", "<U4", "<c16", "bogus", "|V8", "<i8", "<f2"])}
        if choice == 1:
            return {**old, "shape": [rng.randint(-3, 10 ** rng.randint(1, 12)) for _ in range(rng.randint(0, 6))]}
        if choice == 2:
            return {**old, "__ndarray__": rng.choice(["", "!!", "AAAA", old["__ndarray__"][:-4]])}
        if choice == 3 and arr.dtype.kind == "f":
            bad = arr.copy()
            bad[: max(1, len(bad) // 3)] = rng.choice([1.5, -0.2, np.nan, np.inf, 1e30])
            return {**old, "__ndarray__": base64.b64encode(bad.tobytes()).decode()}
        return {k: v for k, v in old.items() if k != rng.choice(list(old))}
    return random_scalar(rng)


# --- sweep specs and logs ------------------------------------------------------------------------

SPEC_BASE = {"train": {"steps_per_stage": 10, "models": ["dkvb"]}}


def fuzz_sweep_specs(rng: random.Random, cases: int = 200) -> tuple[int, list[str]]:
    """Specs with hostile keys, axes, values, seeds and modes: a spec whose points are all valid configs,
    or a ConfigError naming the spec entry."""
    from dkvb_core.sweep import parse_spec

    fields = [n for n, *_ in describe_fields() if n != "seed"]
    failures: list[str] = []
    for _ in range(cases):
        spec: dict[str, Any] = {"base": SPEC_BASE, "axes": {"dkvb.keys_per_codebook": [4, 8]}, "seeds": 1}
        for _ in range(rng.randint(1, 3)):
            key = rng.choice(["axes", "seeds", "mode", "samples", "name", "preset", "base", "sample_seed", "junk"])
            if key == "axes":
                field = rng.choice(fields) if rng.random() < 0.8 else str(random_scalar(rng))[:30]
                values = (
                    [random_scalar(rng) for _ in range(rng.randint(0, 3))]
                    if rng.random() < 0.8
                    else (random_scalar(rng))
                )
                spec["axes"] = {field: values}
            else:
                spec[key] = random_scalar(rng)
        try:
            parsed = parse_spec(spec, max_runs=200)
        except ConfigError as exc:
            if not _named(exc):
                _fail(failures, spec, f"message does not name the entry: {exc}")
            continue
        except Exception as exc:
            _fail(failures, spec, f"{type(exc).__name__}: {exc}")
            continue
        if len({c.to_json() for c in parsed.configs()}) != len(parsed.points):
            _fail(failures, spec, "two points give the same config")
    return cases, failures


def fuzz_sweep_logs(rng: random.Random, tmp: Path, cases: int = 200) -> tuple[int, list[str]]:
    """runs.jsonl lines with hostile fields or bytes: the good rows are read, each bad one skipped with a
    line-numbered note; nothing raises, and a tampered metric is never trusted."""
    from dkvb_core.sweep import parse_spec, run_sweep
    from dkvb_core.sweep.table import RunLog

    out = tmp / "fuzz-sweep"
    run_sweep(parse_spec({"base": SPEC_BASE, "axes": {"dkvb.keys_per_codebook": [4, 8]}, "seeds": 2}), out, "inline")
    lines = (out / "runs.jsonl").read_bytes().splitlines(keepends=True)
    honest = {json.loads(line)["run_id"]: json.loads(line)["metrics"] for line in lines}
    failures: list[str] = []
    for _ in range(cases):
        i = rng.randrange(len(lines))
        row = json.loads(lines[i])
        mode = rng.randrange(3)
        if mode == 0:
            key = rng.choice(list(row))
            row[key] = random_scalar(rng)
            bad = json.dumps(row).encode(errors="surrogatepass") + b"\n"
        elif mode == 1:
            metric = rng.choice(list(row["metrics"]))
            row["metrics"][metric] = random_scalar(rng)
            bad = json.dumps(row).encode(errors="surrogatepass") + b"\n"
        else:
            data = bytearray(lines[i])
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data) - 1)] = rng.randrange(256)
            bad = bytes(data)
        (out / "runs.jsonl").write_bytes(b"".join([*lines[:i], bad, *lines[i + 1 :]]))
        log = RunLog(out)
        try:
            rows = log.read()
        except Exception as exc:
            _fail(failures, bad[:80], f"{type(exc).__name__}: {exc}")
            continue
        for r in rows:
            if r["metrics"] != honest.get(r["run_id"]):
                _fail(failures, bad[:80], "a changed metric was trusted")
        if len(rows) < len(lines) and not any(f"line {i + 1}:" in p for p in getattr(log, "problems", [])):
            _fail(failures, bad[:80], "a line was skipped without a note")
    (out / "runs.jsonl").write_bytes(b"".join(lines))
    return cases, failures


# --- CLI flags -----------------------------------------------------------------------------------

TINY = [
    "--set",
    "train.steps_per_stage=2",
    "--set",
    "record.grid_size=0",
    "--set",
    "stream.train_per_class=3",
    "--set",
    "stream.test_per_class=2",
    "--set",
    "dkvb.keys_per_codebook=4",
    "--no-progress",
]
CHEAP_FIELDS = ["seed", "dkvb.lr", "dkvb.topk", "linear.lr", "mlp.lr", "train.optimizer", "stream.spread", "dkvb.decay"]


def fuzz_cli(rng: random.Random, tmp: Path, cases: int = 40) -> tuple[int, list[str]]:
    """`run` and `sweep` with hostile flag values: exit 0 with the outputs written, or exit 2 with
    `error: <flag or field>: ...` lines; never a traceback."""
    from dkvb_core.cli import main

    failures: list[str] = []
    flags = ["--set", "--seed", "--seeds", "--out", "--save-run", "--preset", "--config"]
    picked = [t for t in HOSTILE_TEXT if not t.startswith("a" * 100)]
    argvs = [
        _flag_argv(flag, text, tmp / f"s{i}") for i, (flag, text) in enumerate((f, t) for f in flags for t in picked)
    ]
    argvs += [_hostile_argv(rng, tmp / f"c{n}") for n in range(cases)]
    for argv in argvs:
        err = io.StringIO()
        try:  # in ``tmp``: a relative --out or --save-run that is accepted writes there, not in the repo
            with contextlib.chdir(tmp), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main(argv)
        except SystemExit as exc:  # argparse: usage and "error: argument --x: ..."
            code = exc.code
        except Exception as exc:
            _fail(failures, argv, f"{type(exc).__name__}: {exc}")
            continue
        text = err.getvalue()
        if code == 0:
            continue
        lines = [ln for ln in text.splitlines() if ln.startswith("error:") or ": error: " in ln]
        if code != 2 or not lines or "Traceback" in text:
            _fail(failures, argv, f"exit {code}: {text[-200:]}")
    return len(argvs), failures


def _hostile_argv(rng: random.Random, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    value = random_scalar(rng)
    text = value if isinstance(value, str) else json.dumps(value)
    text = text.replace("\x00", "\\0") if rng.random() < 0.5 else text
    if rng.random() < 0.3:
        spec = folder / "spec.json"
        spec.write_text(json.dumps({"base": SPEC_BASE, "axes": {rng.choice(CHEAP_FIELDS): [value]}}, default=str))
        flag = rng.choice(["--out", "--max-runs", "--workers", "--executor", "--address"])
        out = ["--out", str(folder / "o")] if flag != "--out" else []
        return ["sweep", "--spec", str(spec), "--executor", "inline", "--no-progress", *out, flag, text[:200]]
    return _flag_argv(
        rng.choice(["--set", "--seed", "--seeds", "--out", "--save-run", "--preset", "--config"]),
        text,
        folder,
        rng.choice(CHEAP_FIELDS),
    )


def _flag_argv(flag: str, text: str, folder: Path, field: str = "dkvb.lr") -> list[str]:
    """``run`` on a tiny config with ``flag`` given ``text`` (a file holding it, for --config)."""
    folder.mkdir(parents=True, exist_ok=True)
    if flag == "--set":
        pair = [flag, f"{field}={text[:70_000]}"]
    elif flag == "--config":
        path = folder / "c.json"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        pair = [flag, str(path)]
    else:
        pair = [flag, text[:100]]
    return ["run", *TINY, *pair]
