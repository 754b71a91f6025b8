"""Sweeps page: what if the codebooks, keys or learning rate were different? One picture per question.

Run a small sweep here (at most ``PAGE_MAX_RUNS`` runs, in the background, with progress and
cancel) or load one the CLI wrote; then a heatmap over two swept fields, lines over one with the
spread across seeds, and a link that opens any config of the sweep in the Playground.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from app import layout, page_link, plain, runs
from app.charts import sweeps as charts
from app.charts.palette import MODEL_LABELS
from app.url_state import config_to_query
from app.views import PAGES
from dkvb_core import Config, ConfigError, DKVBError
from dkvb_core.config import describe_fields
from dkvb_core.models import REGISTRY
from dkvb_core.sweep import load_sweep, parse_spec
from dkvb_core.sweep.budget import check_sweep_budget
from dkvb_core.sweep.job import SweepJob, out_dir_for, sweeps_root, user_sweep_dir
from dkvb_core.sweep.spec import parse_value_list

log = logging.getLogger("dkvb_explorer")
PAGE_MAX_RUNS = 200
PLAYGROUND_PATH = "playground"
NO_AXIS = "—"
PRESET_CHOICES = {
    "toy": "The paper's toy (64 keys)",
    "toy-4-keys": "Too few keys (4 keys)",
    "digits": "Digits (8x8 pixels, 5 stages)",
    "toy-baselines": "The paper's toy, every baseline (replay, EWC, LwF, A-GEM, SLDA)",
}
STEPS_CHOICES = [50, 100, 200, 500, 1000]
# Values offered when a field is picked as an axis (any field works; these are good first tries).
SUGGESTED_VALUES = {
    "dkvb.num_codebooks": "1, 2, 4, 8",
    "dkvb.keys_per_codebook": "2, 4, 8, 16, 64",
    "dkvb.lr": "0.01, 0.03, 0.1, 0.3, 1.0",
    "dkvb.topk": "1, 2, 4",
    "dkvb.temperature": "0.01, 0.1, 1, 4, 16",
    "linear.lr": "0.01, 0.05, 0.2",
    "mlp.lr": "0.01, 0.05, 0.2",
    "mlp.hidden": "8, 32, 128",
    "replay.memory": "50, 200, 1000",
    "agem.memory": "50, 200, 1000",
    "ewc.lam": "1, 10, 100",
    "lwf.alpha": "0.3, 1, 3",
    "slda.covariance": "shared, identity",
    "train.batch_size": "1, 10, 50",
    "train.optimizer": "sgd, adam",
    "stream.spread": "0.5, 0.7, 1.0, 1.5",
    "online.p": "0.9, 0.95, 0.98",
    "online.n_way": "2, 3, 4",
}
DEFAULT_AXES = [("dkvb.num_codebooks", "1, 2, 4, 8"), ("dkvb.keys_per_codebook", "2, 4, 8, 16, 64"), (NO_AXIS, "")]
HIDDEN_FIELDS = {"seed", "stream.csv_path", "stream.kind", "stream.encoder"}
FIELDS = [name for name, *_ in describe_fields() if name not in HIDDEN_FIELDS]
# The spec's widgets kept in the link (view.sweep.*): a shared link reproduces the spec, not the results.
SPEC_DEFAULTS: dict[str, Any] = {
    "sweep:preset": next(iter(PRESET_CHOICES)),
    "sweep:steps": 200,
    "sweep:seeds": 3,
    "sweep:models": ["dkvb", "linear", "mlp"],
    **{f"sweep:axis{i}": field for i, (field, _v) in enumerate(DEFAULT_AXES)},
    **{f"sweep:values{i}": values for i, (_f, values) in enumerate(DEFAULT_AXES)},
}
SPEC_LINKS = [
    page_link.Linked("sweep:preset", "sweep.preset", page_link.choice(list(PRESET_CHOICES))),
    page_link.Linked("sweep:steps", "sweep.steps", page_link.choice(STEPS_CHOICES)),
    page_link.Linked("sweep:seeds", "sweep.seeds", page_link.whole(1, 10)),
    page_link.Linked("sweep:models", "sweep.models", page_link.names(list(REGISTRY))),
    *(page_link.Linked(f"sweep:axis{i}", f"sweep.axis{i + 1}", page_link.choice([NO_AXIS, *FIELDS])) for i in range(3)),
    *(page_link.Linked(f"sweep:values{i}", f"sweep.values{i + 1}", page_link.text(200)) for i in range(3)),
]
RANGES = {name: allowed for name, _d, allowed, _desc in describe_fields()}
DEFAULTS = {name: default for name, default, _a, _desc in describe_fields()}  # JSON text: a first value


# --- building and starting a sweep -------------------------------------------------------


def _suggest(i: int) -> None:
    field = st.session_state[f"sweep:axis{i}"]
    st.session_state[f"sweep:values{i}"] = SUGGESTED_VALUES.get(field, DEFAULTS.get(field, ""))


def spec_form() -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """Widgets -> a spec dict, and the problems that stop it from running (field, message)."""
    page_link.restore(SPEC_LINKS, "sweep:_link_read")
    for k, v in SPEC_DEFAULTS.items():
        st.session_state.setdefault(k, v)
    c1, c2, c3, c4 = st.columns([2, 1, 1, 2])
    preset = c1.selectbox("Start from", list(PRESET_CHOICES), format_func=PRESET_CHOICES.get, key="sweep:preset")
    steps = c2.selectbox("Steps a stage", STEPS_CHOICES, key="sweep:steps")
    seeds = c3.number_input("Seeds", min_value=1, max_value=10, step=1, key="sweep:seeds")
    models = c4.multiselect("Models", list(REGISTRY), format_func=MODEL_LABELS.get, key="sweep:models")
    axes: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for i in range(len(DEFAULT_AXES)):
        a, b = st.columns([1, 2])
        name = a.selectbox(f"Axis {i + 1}", [NO_AXIS, *FIELDS], key=f"sweep:axis{i}", on_change=_suggest, args=(i,))
        text = b.text_input(
            f"Values of axis {i + 1}",
            key=f"sweep:values{i}",
            disabled=name == NO_AXIS,
            help=f"comma-separated; {RANGES.get(name, '')}" if name != NO_AXIS else None,
            placeholder="e.g. 4, 16, 64",
        )
        if name == NO_AXIS:
            continue
        if name in axes:
            problems.append((f"axes.{name}", f"axis {i + 1} repeats a field chosen above; pick another"))
            continue
        axes[name] = parse_value_list(text)
    page_link.remember(SPEC_LINKS, SPEC_DEFAULTS)
    if not models:
        problems.append(("train.models", "choose at least one model"))
    if not axes:
        problems.append(("axes", "choose at least one field to vary"))
    spec = {
        "name": "page",
        "preset": preset,
        "base": {"train": {"steps_per_stage": int(steps), "models": models}},
        "axes": axes,
        "seeds": int(seeds),
    }
    return (None if problems else spec), problems


def show_problems(problems: list[tuple[str, str]]) -> None:
    template = "\n".join("- **{}**: {}" for _ in problems)
    plain.alert("error", template, *[part for problem in problems for part in problem], icon=":material/error:")


def start_job(spec) -> None:
    try:
        job = SweepJob(spec, out_dir_for(spec), alive=runs.session_alive_check()).start()
    except DKVBError as exc:
        st.session_state["sweep:start_error"] = str(exc)
        return
    st.session_state["sweep:job"] = job
    st.session_state.pop("sweep:start_error", None)


def run_tab() -> None:
    st.caption(
        f"Up to {PAGE_MAX_RUNS} runs here, on this machine's cores; the metrics need no animation, so "
        "runs skip recording frames. Bigger sweeps: copy the spec below into `python -m dkvb_core sweep`."
    )
    data, problems = spec_form()
    spec = None
    if data is not None:
        try:
            spec = parse_spec(data, max_runs=PAGE_MAX_RUNS)
            check_sweep_budget(spec, runs.server_budget())
        except ConfigError as exc:
            spec, problems = None, exc.problems
    if problems:
        show_problems(problems)
    job: SweepJob | None = st.session_state.get("sweep:job")
    busy = job is not None and job.running
    left, right = st.columns([1, 3], vertical_alignment="center")
    if spec is not None:
        right.caption(f"{len(spec.points)} configs × {len(spec.seeds)} seeds = **{spec.num_runs} runs**")
    left.button(
        "Start sweep",
        type="primary",
        icon=":material/play_arrow:",
        disabled=spec is None or busy,
        on_click=start_job,
        args=(spec,),
        key="sweep:start",
    )
    if "sweep:start_error" in st.session_state:
        plain.alert("warning", "{}", st.session_state["sweep:start_error"], icon=":material/hourglass_top:")
    if data is not None:
        with st.expander("This sweep as a spec file, for the CLI"):
            st.code(json.dumps(data, indent=2), language="json")
            st.code("python -m dkvb_core sweep --spec spec.json --out sweeps/mine", language="bash")


@st.fragment(run_every=1.0)
def job_panel() -> None:
    """Progress and cancel of the session's running sweep; a full rerun once it has ended."""
    job: SweepJob | None = st.session_state.get("sweep:job")
    if job is None:
        return
    if job.running:
        left = job.seconds_left()
        eta = f", about {left:.0f} s left" if left is not None else ""
        state = " (stopping)" if job.cancelled else ""
        st.progress(min(job.done / max(job.total, 1), 1.0), text=f"{job.done}/{job.total} runs{eta}{state}")
        st.button("Cancel", icon=":material/stop:", on_click=job.cancel, disabled=job.cancelled, key="sweep:cancel")
        return
    finish_job(job)
    st.rerun()


def finish_job(job: SweepJob) -> None:
    """Keep the ended job's tables (even a cancelled or failed job's finished runs) and report it."""
    st.session_state.pop("sweep:job", None)
    if job.error:
        st.session_state["sweep:notice"] = ("error", f"The sweep stopped: {job.error}")
    elif job.state == "cancelled":
        st.session_state["sweep:notice"] = ("warning", f"Cancelled after {job.done} of {job.total} runs.")
    else:
        st.session_state["sweep:notice"] = ("success", f"Done: {job.total} runs.")
    if job.runs is not None and not job.runs.empty:
        keep_tables(job.spec.to_dict(), job.spec.axes, job.spec.seeds, job.runs, job.summary, job.out_dir)


def keep_tables(spec: dict, axes: list[str], seeds: list[int], runs: pd.DataFrame, summary: pd.DataFrame, src) -> None:
    st.session_state["sweep:tables"] = {
        "spec": spec,
        "axes": axes,
        "seeds": seeds,
        "runs": runs,
        "summary": summary,
        "source": str(src),
    }


# --- loading a sweep -----------------------------------------------------------------------


def recent_sweeps() -> list[Path]:
    root = sweeps_root()
    if not root.is_dir():
        return []
    dirs = [d for d in root.iterdir() if (d / "spec.json").is_file()]
    return sorted(dirs, key=lambda d: d.stat().st_mtime, reverse=True)[:20]


def load_into_session(path: str) -> None:
    """Load a sweep folder's tables; whatever is wrong with the folder becomes a message, and the
    tables already shown stay."""
    warnings: list[str] = []
    try:
        spec, runs, summary = load_sweep(user_sweep_dir(path), warnings)
    except (DKVBError, OSError, ValueError) as exc:
        st.session_state["sweep:load_error"] = str(exc)
        return
    except Exception as exc:  # a folder's content must never replace the page with a traceback
        log.exception("loading sweep folder failed")
        st.session_state["sweep:load_error"] = f"sweep dir: could not be read ({type(exc).__name__})"
        return
    st.session_state.pop("sweep:load_error", None)
    st.session_state["sweep:load_warnings"] = warnings
    keep_tables(spec.to_dict(), spec.axes, spec.seeds, runs, summary, path.strip())


def load_tab() -> None:
    st.caption("A sweep's `--out` folder (it holds spec.json and runs.jsonl), from the CLI or from this page.")
    recent = recent_sweeps()
    if recent:
        a, b = st.columns([4, 1], vertical_alignment="bottom")
        choice = a.selectbox("Sweeps run on this server", recent, format_func=lambda d: d.name, key="sweep:recent")
        b.button("Load", key="sweep:load_recent", on_click=load_into_session, args=(str(choice),))
    a, b = st.columns([4, 1], vertical_alignment="bottom")
    a.text_input("Folder path", key="sweep:path", placeholder="sweeps/keys-vs-codebooks")
    b.button("Load", key="sweep:load_path", on_click=lambda: load_into_session(st.session_state["sweep:path"]))
    if "sweep:load_error" in st.session_state:
        plain.alert("error", "{}", st.session_state["sweep:load_error"], icon=":material/error:")
    skipped = st.session_state.get("sweep:load_warnings") or []
    if skipped:
        template = "Some lines of the run log were skipped:\n\n" + "\n".join("- {}" for _ in skipped)
        plain.alert("warning", template, *skipped, icon=":material/warning:")


# --- results -------------------------------------------------------------------------------


def fixed_values(summary: pd.DataFrame, axes: list[str], where: str) -> dict[str, Any]:
    """A select box per swept field not on the chart: the value it is held at."""
    fixed = {}
    if not axes:
        return fixed
    cols = st.columns(min(len(axes), 4))
    for k, axis in enumerate(axes):
        values = charts.axis_values(summary, axis)
        fixed[axis] = cols[k % len(cols)].selectbox(
            f"{axis} held at", values, format_func=charts.fmt_value, key=f"sweep:{where}:fix:{axis}"
        )
    return fixed


def playground_link(summary: pd.DataFrame, axes: list[str], metric: str, seeds: list[int]) -> None:
    labels = {row["config_id"]: charts.cell_label(row, axes, metric) for _, row in summary.iterrows()}
    picked = st.session_state.pop("sweep:picked", None)
    if picked in labels:
        st.session_state["sweep:open"] = picked
    a, b = st.columns([4, 1], vertical_alignment="bottom")
    cid = a.selectbox("Open a config in the Playground", list(labels), format_func=labels.get, key="sweep:open")
    row = summary[summary["config_id"] == cid].iloc[0]
    config = Config.from_dict(charts.config_of_row(row)).replace(seed=seeds[0])
    if config.stream.kind != "toy":  # the Playground and its sidebar are for the 2-D toy stream
        b.button("Open in Playground", disabled=True, key="sweep:open_disabled", icon=":material/open_in_new:")
        st.caption(
            f"This sweep runs on image data ({config.stream.kind}): the Playground draws 2-D toy streams only. "
            "Open the **Images** page and set the same values there to look at one of these runs."
        )
        return
    query = urlencode(config_to_query(config))
    b.link_button("Open in Playground", playground_href(query), icon=":material/open_in_new:")


def playground_href(query: str) -> str:
    """Relative link to the Playground; the default page lives at the app's root URL."""
    spec = next((p for p in PAGES if p.url_path == PLAYGROUND_PATH), None)
    path = "" if spec is None or spec.default else spec.url_path
    return f"./{path}?{query}"


def heatmap_section(summary: pd.DataFrame, varied: list[str], metric: str) -> None:
    a, b = st.columns(2)
    x = a.selectbox("Heatmap columns", varied, index=min(1, len(varied) - 1), key="sweep:hx")
    y_options = [v for v in varied if v != x]
    y = b.selectbox("Heatmap rows", y_options, key="sweep:hy")
    rest = [v for v in varied if v not in (x, y)]
    sliced = charts.slice_rows(summary, fixed_values(summary, rest, "heat"))
    fig = charts.heatmap_figure(sliced, x, y, metric, height=layout.chart_height(480))
    event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key="sweep:heatmap")
    try:
        point = event["selection"]["points"][0]
    except (KeyError, IndexError, TypeError):
        point = None
    if point is not None:
        picked = point.get("customdata") or charts.config_at(sliced, x, y, point.get("x"), point.get("y"))
        picked = picked[0] if isinstance(picked, list) else picked
        if picked != st.session_state.get("sweep:last_pick"):  # a new click: it sets the choice below once
            st.session_state["sweep:last_pick"] = st.session_state["sweep:picked"] = picked
    st.caption("Click a cell to pick it for the Playground link below.")


def lines_section(summary: pd.DataFrame, runs: pd.DataFrame, varied: list[str], metric: str) -> None:
    a, b = st.columns(2)
    most = max(varied, key=lambda a: summary[a].nunique())
    default_x = varied.index("dkvb.lr") if "dkvb.lr" in varied else varied.index(most)
    x = a.selectbox("Lines over", varied, index=default_x, key="sweep:lx")
    group_options = ["each model", *[v for v in varied if v != x]]
    group = b.selectbox("One line for", group_options, key="sweep:lgroup")
    rest = [v for v in varied if v != x and v != group]
    fixed = fixed_values(summary, rest, "line")
    model_metrics = [m for m in charts.metric_options(summary) if m.partition("/")[2] == metric.partition("/")[2]]
    fig = charts.line_figure(
        charts.slice_rows(summary, fixed),
        charts.slice_rows(runs, fixed),
        x,
        model_metrics if group == "each model" else [metric],
        group=None if group == "each model" else group,
        height=layout.chart_height(440),
    )
    st.plotly_chart(fig, key="sweep:lines")


def results() -> None:
    tables = st.session_state.get("sweep:tables")
    if tables is None:
        st.info("Run a sweep or load one to see its results here.", icon=":material/grid_on:")
        return
    summary, runs, axes = tables["summary"], tables["runs"], tables["axes"]
    st.subheader("Results")
    plain.caption("{} configs, {} runs · {}", len(summary), len(runs), tables["source"])
    options = charts.metric_options(summary)
    default = options.index("dkvb/average_accuracy") if "dkvb/average_accuracy" in options else 0
    metric = st.selectbox("Metric", options, index=default, format_func=charts.metric_label, key="sweep:metric")
    varied = [a for a in axes if summary[a].nunique() > 1]
    if len(varied) >= 2:
        heatmap_section(summary, varied, metric)
    if varied:
        lines_section(summary, runs, varied, metric)
    playground_link(summary, axes, metric, tables["seeds"])
    with st.expander("Table: mean and std over seeds per config"):
        shown = summary.drop(columns=["config"])
        st.dataframe(shown, hide_index=True)
        st.download_button("summary.csv", shown.to_csv(index=False), "summary.csv", mime="text/csv")


layout.page_header(
    "Sweeps",
    "What if there were more keys, more codebooks, another learning rate? Each point is trained "
    "on several seeds; charts show the mean and the spread.",
)
run, load = st.tabs(["Run a sweep", "Load a sweep"])
with run:
    run_tab()
with load:
    load_tab()
if st.session_state.get("sweep:job") is not None:
    job_panel()
notice = st.session_state.pop("sweep:notice", None)
if notice:
    plain.alert(notice[0], "{}", notice[1])
results()
