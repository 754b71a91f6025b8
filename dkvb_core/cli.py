"""Command line: ``python -m dkvb_core run --preset toy --out result.json``.

Bad flags or values exit with status 2 and one line a fault naming the flag or field and its
allowed range. A progress bar appears on a terminal for runs that last over a second.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from dkvb_core import safe_json
from dkvb_core.budget import add_budget_arguments, budget_from_args, check_budget
from dkvb_core.config import Config, describe_fields, load_config_file, set_dotted
from dkvb_core.errors import ConfigError, DKVBError
from dkvb_core.presets import PRESETS, preset_dict

SUBCOMMANDS: dict[str, Any] = {}
MAX_SET_CHARS = 10_000
MAX_SEEDS = 32
INT_TEXT = re.compile(r"[+-]?[0-9]{1,18}")
SEED_TAG = "{seed}"


def _fields_epilog() -> str:
    from dkvb_core.config import Config
    from dkvb_core.models import REGISTRY

    lines = ['models (--set train.models=\'["dkvb","mlp"]\'; each has the config section of its name):']
    for spec in REGISTRY.values():
        lines.append(f"  {spec.name:<8} {spec.label}: {spec.description}; keeps {spec.stores(Config())}")
    lines += ["", "settable fields (--set section.field=value; value parsed as JSON, else a string):"]
    for name, default, allowed, desc in describe_fields():
        lines.append(f"  {name:<32} default {default:<22} {allowed}")
        if desc:
            lines.append(f"  {'':<32} {desc}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dkvb_core",
        description="Run the discrete key-value bottleneck and its baselines stage by stage.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="train the models through a stream and write metrics as JSON",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_fields_epilog(),
    )
    run.add_argument("--preset", default="toy", help=f"starting config: one of {', '.join(PRESETS)} (default toy)")
    run.add_argument("--config", help="JSON file of config sections, applied over the preset")
    run.add_argument(
        "--set",
        action="extend",
        nargs="+",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override fields, e.g. --set stream.kind=features stream.path=my.npz (repeatable)",
    )
    run.add_argument("--seed", type=ascii_int, help="run seed, an integer in [0, 2147483647]")
    run.add_argument("--seeds", type=ascii_int, default=1, help="run this many seeds (seed, seed+1, ...); 1 to 32")
    run.add_argument("--out", help="write the metrics JSON here (default: standard output)")
    run.add_argument(
        "--save-run",
        help="also write the full run (frames included) as .json or .npz; with --seeds N > 1 the name must "
        "hold {seed} (e.g. run-{seed}.npz) and every seed is saved",
    )
    run.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    add_budget_arguments(run)
    from dkvb_core.sweep.cli import add_sweep_command  # lazy: `run` does not need the sweep package

    SUBCOMMANDS.setdefault("sweep", add_sweep_command)
    for name, add in SUBCOMMANDS.items():
        add(sub, name)
    return parser


def parse_value(text: str, field: str = "--set") -> Any:
    """``--set`` values: JSON when it parses (numbers, lists, true, null), else the raw string.

    Too deep, too long or a number of absurd length is refused naming ``field`` (never a traceback)."""
    try:
        return safe_json.loads(text, field, max_chars=MAX_SET_CHARS)
    except safe_json.JSONLimitError:
        raise
    except ConfigError:
        return text


def ascii_int(text: str) -> int:
    """argparse type: an integer in ASCII digits (``int()`` also takes full-width digits, '1_0', ' 5')."""
    if not INT_TEXT.fullmatch(text):
        raise argparse.ArgumentTypeError(f"must be an integer written in ASCII digits; got {text[:40]!r}")
    return int(text)


def config_from_args(args: argparse.Namespace) -> Config:
    data = preset_dict(args.preset)
    if args.config:
        _merge(data, load_config_file(args.config))
    for item in args.set:
        if "=" not in item:
            raise ConfigError([("--set", f"expected SECTION.FIELD=VALUE; got {item!r}")])
        path, value = item.split("=", 1)
        set_dotted(data, path.strip(), parse_value(value.strip(), f"--set {path.strip()[:60]}"))
    if args.seed is not None:
        data["seed"] = args.seed
    return Config.from_dict(data)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v


class _Bar:
    """A tqdm bar that only appears on a terminal and only after the first second."""

    def __init__(self, enabled: bool):
        self.bar = None
        self.phase = ""
        self.enabled = enabled and sys.stderr.isatty()

    def __call__(self, done: int, total: int, phase: str = "train") -> None:
        if not self.enabled:
            return
        if self.bar is None or self.phase != phase:
            from tqdm import tqdm

            self.close()
            unit = "step" if phase == "train" else phase
            self.bar = tqdm(total=total, delay=1.0, unit=unit, desc=phase, file=sys.stderr, leave=False)
            self.phase = phase
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def output_path(flag: str, text: str | None, suffixes: tuple[str, ...] = ()) -> Path | None:
    """A file the CLI will write, checked before any work: not empty, in an existing, writable folder,
    not a folder itself, with an allowed suffix. Raises ConfigError naming ``flag``."""
    if text is None:
        return None
    if not text.strip():
        raise ConfigError([(flag, "give a file path; got an empty one")])
    if any(ord(ch) < 32 for ch in text):
        raise ConfigError([(flag, "a file path may not hold control characters (NUL, newline, ...)")])
    p = Path(text)
    if suffixes and p.suffix not in suffixes:
        raise ConfigError([(flag, f"the file name must end in {' or '.join(suffixes)}; got {p.name[:60]!r}")])
    if p.is_dir():
        raise ConfigError([(flag, f"{text[:80]} is a folder; give a file name in it")])
    folder = p.parent
    if not folder.is_dir():
        raise ConfigError([(flag, f"the folder {str(folder)[:80]} does not exist")])
    if not os.access(folder, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ConfigError([(flag, f"cannot write {text[:80]} (permission denied)")])
    return p


def save_paths(args: argparse.Namespace, seeds: list[int]) -> dict[int, Path]:
    """Where ``--save-run`` writes each seed's run: one file a seed, ``{seed}`` in the name for several."""
    if args.save_run is None:
        return {}
    template = args.save_run
    if len(seeds) > 1 and SEED_TAG not in template:
        raise ConfigError(
            [
                (
                    "--save-run",
                    f"--seeds {len(seeds)} makes {len(seeds)} runs; put {SEED_TAG} in the file name "
                    f"(e.g. run-{SEED_TAG}.npz) to save each one",
                )
            ]
        )
    paths = {s: output_path("--save-run", template.replace(SEED_TAG, str(s)), (".json", ".npz")) for s in seeds}
    out = output_path("--out", args.out)
    if out is not None and any(p.resolve() == out.resolve() for p in paths.values()):
        raise ConfigError([("--save-run", "names the same file as --out; give two different paths")])
    return paths  # type: ignore[return-value]


def _write(flag: str, path: Path, write: Any) -> None:
    try:
        write(path)
    except OSError as exc:
        raise ConfigError([(flag, f"could not write {str(path)[:80]}: {exc.strerror or exc}")]) from None


def _csv_stream(config: Config) -> Any:
    """A CSV or features stream read for the budget's estimate (its size is unknown until read); None otherwise."""
    if config.stream.kind not in ("csv", "features"):
        return None
    from dkvb_core.streams import build_stream

    return build_stream(config)


def check_cli_budget(config: Config, args: argparse.Namespace, seeds: int) -> None:
    """The budget check of a CLI run, its refusal ending with the flags that raise or lift the budget."""
    try:
        check_budget(config, budget_from_args(args), seeds, _csv_stream(config))
    except ConfigError as exc:
        if exc.problems[0][0] != "budget":
            raise
        hint = ("--budget-seconds", "or raise the budget with --budget-seconds / --budget-gb, or lift it: --no-budget")
        raise ConfigError([*exc.problems, hint]) from None


def cmd_run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if not 1 <= args.seeds <= MAX_SEEDS:
        raise ConfigError([("--seeds", f"must be an integer in [1, {MAX_SEEDS}]; got {args.seeds}")])
    seeds = [config.seed + i for i in range(args.seeds)]
    if seeds[-1] > 2**31 - 1:
        raise ConfigError([("--seeds", f"seed {config.seed} + {args.seeds - 1} passes the largest seed 2147483647")])
    out = output_path("--out", args.out)
    saves = save_paths(args, seeds)
    check_cli_budget(config, args, len(seeds))
    from dkvb_core.engine import run_seeds  # torch: only once the run is known to fit

    bar = _Bar(not args.no_progress)
    start = time.perf_counter()
    try:
        results = run_seeds(config, seeds, progress=bar)
    finally:
        bar.close()
    wall = time.perf_counter() - start
    first = results[0]
    doc: dict[str, Any] = {
        "config": config.to_dict(),
        "task": config.task,  # regression: every figure is an MSE and its name says lower_is_better
        "results": first.summaries(),
        "wall_seconds": wall,
    }
    if len(results) > 1:
        doc["seeds"] = {str(s): r.summaries() for s, r in zip(seeds, results, strict=True)}
    text = json.dumps(doc, indent=2)
    if out is not None:
        _write("--out", out, lambda p: p.write_text(text + "\n", encoding="utf-8"))
    else:
        print(text)
    for seed, result in zip(seeds, results, strict=True):
        if seed in saves:
            _write("--save-run", saves[seed], result.save)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        return int(args.handler(args))
    except ConfigError as exc:
        for field, msg in exc.problems:
            print(f"error: {field}: {msg}", file=sys.stderr)
        return 2
    except DKVBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or 'file'}: {exc.strerror or exc}", file=sys.stderr)
        return 2
