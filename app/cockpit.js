// DKVB Explorer's presenter cockpit (one Streamlit custom component v2, three kinds):
//   "player": an animated plotly chart that keeps its frame, play state and speed across reruns and
//             view changes; step, play/pause, speed, jump to a stage end; keyboard and clicker keys.
//   "keys":   no UI; routes PageDown/PageUp to the story (next/previous step) while a story runs.
//   "draw":   a plane on which a click adds a point of the chosen class and stage (a drag adds a few).
// Python side: app/cockpit.py. Data arrives as bytes: one JSON header line, then the figure JSON.
// State goes back to Python only on pause, on a step (debounced) and on a finished drawing stroke.

const REG = (window.__dkvbCockpit = window.__dkvbCockpit || {
  players: new Map(), // player id -> live player object
  saved: {}, // player id -> {name, playing, speed}: survives a remount (view switch, page change)
  story: null, // {next(), prev()} while a story runs
  active: null, // the player the keyboard drives (last touched; else the first on the page)
  plotly: null, // promise of window.Plotly
  keysInstalled: false,
});

const SPEEDS = [0.25, 0.5, 1, 2, 4];
const HELP = [
  ["Space", "play / pause"],
  ["← / →", "one frame back / forward"],
  ["Home / End", "first / last frame"],
  ["PageUp / PageDown", "previous / next stage end (in a story: previous / next step)"],
  ["?", "show or hide this help"],
];

function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!REG.plotly) {
    REG.plotly = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = url;
      s.async = true;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => {
        REG.plotly = null;
        reject(new Error("chart library did not load"));
      };
      document.head.appendChild(s);
    });
  }
  return REG.plotly;
}

function decode(data) {
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  const cut = text.indexOf("\n");
  const header = JSON.parse(cut < 0 ? text : text.slice(0, cut));
  return { header, body: cut < 0 ? "" : text.slice(cut + 1) };
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function flatten(obj, prefix = "", out = {}) {
  // {title: {text: t}} -> {"title.text": t}: a relayout then changes the text and keeps the title's font
  // and position (arrays, like the region images, are replaced whole).
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? prefix + "." + k : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, path, out);
    else out[path] = v;
  }
  return out;
}

// ---------------------------------------------------------------- keyboard
const TEXT_INPUTS = /^(text|number|search|email|password|url|tel|date|time|datetime-local|month|week)$/;

function typingInto(target) {
  // Keys go to the chart unless the presenter is typing or moving another widget that uses these keys.
  if (!target || target === document.body) return false;
  if (target.isContentEditable) return true;
  if (target.closest && target.closest(".dkvb-player")) return false;
  if (target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  if (target.tagName === "INPUT" && TEXT_INPUTS.test(target.type || "text")) return true;
  return !!(target.closest && target.closest('[role="slider"],[role="combobox"],[role="listbox"],[role="textbox"]'));
}

function activePlayer() {
  const live = [...REG.players.values()].filter((p) => p.root.isConnected);
  if (REG.active && REG.active.root.isConnected) return REG.active;
  return live[0] || null;
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || typingInto(e.target)) return;
  const story = REG.story && REG.story.root.isConnected ? REG.story : null;
  if (story && (e.key === "PageDown" || e.key === "PageUp")) {
    e.preventDefault();
    e.key === "PageDown" ? story.next() : story.prev();
    return;
  }
  const p = activePlayer();
  if (!p) return;
  const actions = {
    " ": () => p.toggle(),
    ArrowRight: () => p.step(1),
    ArrowLeft: () => p.step(-1),
    Home: () => p.jump(0, true),
    End: () => p.jump(p.names.length - 1, true),
    PageDown: () => p.stageEnd(1),
    PageUp: () => p.stageEnd(-1),
    "?": () => p.toggleHelp(),
  };
  const act = actions[e.key];
  if (!act) return;
  e.preventDefault();
  act();
}

function installKeys() {
  if (REG.keysInstalled) return;
  REG.keysInstalled = true;
  document.addEventListener("keydown", onKey, true);
}

// ---------------------------------------------------------------- player
class Player {
  constructor(parent, header, setStateValue) {
    this.id = header.id;
    this.setStateValue = setStateValue;
    this.root = el("div", "dkvb-player");
    this.root.dataset.player = header.id;
    this.plot = el("div", "dkvb-plot");
    this.bar = el("div", "dkvb-bar");
    this.help = el("div", "dkvb-help");
    this.help.hidden = true;
    this.help.appendChild(el("div", "dkvb-help-title", "Keyboard and clicker"));
    for (const [k, v] of HELP) {
      const row = el("div", "dkvb-help-row");
      row.append(el("kbd", "", k), el("span", "", v));
      this.help.appendChild(row);
    }
    this.root.append(this.plot, this.bar, this.help);
    parent.appendChild(this.root);
    this.buildBar();
    const saved = REG.saved[header.id] || {};
    this.pos = 0;
    this.playing = false;
    this.speed = saved.speed || 1;
    this.savedName = saved.name;
    this.resumePlaying = !!saved.playing;
    this.figId = null;
    this.seekToken = saved.seekToken === undefined ? null : saved.seekToken;
    this.names = [];
    this.busy = Promise.resolve();
    this.root.addEventListener("pointerdown", () => (REG.active = this));
    this.onResize = () => {
      clearTimeout(this.resizeTimer);
      this.resizeTimer = setTimeout(() => {
        if (this.Plotly && this.plot._fullLayout && this.root.isConnected) {
          const fitted = this.fit();
          if (!fitted) this.Plotly.Plots.resize(this.plot);
        }
      }, 150);
    };
    window.addEventListener("resize", this.onResize);
    REG.players.set(this.id, this);
  }

  buildBar() {
    const b = (label, title, fn, cls) => {
      const btn = el("button", "dkvb-btn" + (cls ? " " + cls : ""), label);
      btn.type = "button";
      btn.title = title;
      btn.addEventListener("click", (e) => {
        e.preventDefault();
        REG.active = this;
        fn();
      });
      return btn;
    };
    this.first = b("|◀", "First frame (Home)", () => this.jump(0, true));
    this.back = b("◀", "One frame back (←)", () => this.step(-1));
    this.playBtn = b("▶ Play", "Play / pause (Space)", () => this.toggle(), "dkvb-play");
    this.fwd = b("▶", "One frame forward (→)", () => this.step(1));
    this.last = b("▶|", "Last frame (End)", () => this.jump(this.names.length - 1, true));
    this.slider = el("input", "dkvb-slider");
    this.slider.type = "range";
    this.slider.min = "0";
    this.slider.step = "1";
    this.slider.setAttribute("aria-label", "Frame");
    this.slider.addEventListener("input", () => {
      REG.active = this;
      this.pause(false);
      this.jump(Number(this.slider.value), true);
    });
    this.ticks = el("div", "dkvb-ticks");
    const sliderBox = el("div", "dkvb-slider-box");
    sliderBox.append(this.slider, this.ticks);
    this.speedSel = el("select", "dkvb-speed");
    this.speedSel.setAttribute("aria-label", "Speed");
    this.speedSel.title = "Speed (0.25× is slow motion)";
    for (const s of SPEEDS) {
      const o = el("option", "", (s === 0.25 ? "slow " : "") + s + "×");
      o.value = String(s);
      this.speedSel.appendChild(o);
    }
    this.speedSel.addEventListener("change", () => {
      this.speed = Number(this.speedSel.value);
      this.save();
    });
    this.helpBtn = b("?", "Keyboard and clicker keys (?)", () => this.toggleHelp(), "dkvb-help-btn");
    this.counter = el("span", "dkvb-counter");
    this.bar.append(this.first, this.back, this.playBtn, this.fwd, this.last, sliderBox, this.speedSel, this.counter, this.helpBtn);
  }

  save() {
    REG.saved[this.id] = {
      name: this.names[this.pos],
      playing: this.playing,
      speed: this.speed,
      seekToken: this.seekToken,
    };
  }

  async update(header, body, Plotly) {
    this.Plotly = Plotly;
    this.stageEnds = header.stageEnds || [];
    this.frameMs = header.frameMs || 140;
    this.speedSel.value = String(this.speed);
    if (header.figId !== this.figId) {
      const fig = JSON.parse(body);
      const keepName = this.figId === null ? this.savedName : this.names[this.pos];
      const wasPlaying = this.figId === null ? this.resumePlaying : this.playing;
      this.stopTimer();
      this.names = (fig.frames || []).map((f) => f.name);
      this.figId = header.figId;
      let pos = this.names.indexOf(keepName);
      if (pos < 0) pos = Math.min(Math.max(header.start || 0, 0), Math.max(this.names.length - 1, 0));
      this.pos = pos;
      const config = Object.assign({ displaylogo: false, responsive: true }, header.config || {});
      this.fitViewport = !!header.fit;
      this.layoutHeight = fig.layout.height || 500;
      this.traceState = null; // the new figure's traces: unknown relative to its frames
      await Plotly.react(this.plot, { data: fig.data, layout: fig.layout, frames: fig.frames || [], config });
      await this.fit();
      this.bar.hidden = this.names.length < 2;
      this.buildTicks();
      if (pos === header.base && fig.frames && fig.frames[pos]) {
        // the figure as drawn already shows this frame: no second full draw on arrival
        const frame = fig.frames[pos];
        this.traceState = JSON.stringify([frame.data || [], frame.traces || []]);
        this.mark(pos);
        this.root.dataset.drawn = this.names[pos];
      } else {
        await this.show(pos);
      }
      if (wasPlaying) this.play();
    }
    if (header.seek && header.seek.token !== this.seekToken) {
      this.seekToken = header.seek.token;
      this.pause(false);
      this.save();
      await this.jump(header.seek.pos, false);
    }
  }

  fit() {
    // Presentation mode: the chart and its controls fit the window (a 1280 x 720 projector included).
    if (!this.fitViewport || !this.Plotly || !this.plot._fullLayout) return null;
    const top = this.plot.getBoundingClientRect().top + window.scrollY;
    const controls = (this.bar.hidden ? 0 : this.bar.offsetHeight || 64) + 16;
    const avail = Math.floor(window.innerHeight - top - controls);
    const height = Math.max(280, Math.min(this.layoutHeight, avail));
    const width = this.root.clientWidth; // a relayout of the height fixes the width: follow the page's
    const full = this.plot._fullLayout;
    if (height === full.height && width === full.width) return null;
    return this.Plotly.relayout(this.plot, { height, width });
  }

  buildTicks() {
    const n = Math.max(this.names.length - 1, 1);
    this.slider.max = String(this.names.length - 1);
    this.ticks.textContent = "";
    for (const s of this.stageEnds) {
      const t = el("span", "dkvb-tick", s.label);
      t.style.left = (100 * s.pos) / n + "%";
      t.title = "Jump to the " + s.label;
      t.addEventListener("click", () => {
        REG.active = this;
        this.pause(false);
        this.jump(s.pos, true);
      });
      this.ticks.appendChild(t);
    }
  }

  mark(pos) {
    this.pos = pos;
    this.slider.value = String(pos);
    this.counter.textContent = pos + 1 + " / " + this.names.length;
    this.root.dataset.frame = this.names[pos];
    this.save();
  }

  show(pos) {
    if (!this.names.length) return this.busy;
    // Frames are drawn one at a time, in order: a key held down never queues a backlog.
    pos = Math.min(Math.max(pos, 0), this.names.length - 1);
    this.mark(pos);
    const name = this.names[pos];
    this.busy = this.busy.then(() => (this.names[this.pos] !== name ? null : this.draw(name)));
    return this.busy;
  }

  draw(name) {
    // A frame whose traces look as they do now (same stage: same points shown) changes only the layout
    // (region images, title): a relayout is several times cheaper than redrawing every point.
    const frame = this.plot._transitionData && this.plot._transitionData._frameHash[name];
    const traces = frame ? JSON.stringify([frame.data || [], frame.traces || []]) : null;
    const done = () => {
      this.root.dataset.drawn = name;
    };
    if (frame && traces === this.traceState && frame.layout) {
      return this.Plotly.relayout(this.plot, flatten(frame.layout)).then(done);
    }
    this.traceState = traces;
    return this.Plotly.animate(this.plot, [name], {
      frame: { duration: 0, redraw: true },
      transition: { duration: 0 },
      mode: "immediate",
    }).then(done);
  }

  jump(pos, report) {
    const p = this.show(pos);
    if (report) this.reportSoon();
    return p;
  }

  step(delta) {
    this.pause(false);
    return this.jump(this.pos + delta, true);
  }

  stageEnd(direction) {
    const ends = this.stageEnds.map((s) => s.pos);
    const target =
      direction > 0 ? ends.find((p) => p > this.pos) : [...ends].reverse().find((p) => p < this.pos);
    this.pause(false);
    return this.jump(target === undefined ? (direction > 0 ? this.names.length - 1 : 0) : target, true);
  }

  toggle() {
    this.playing ? this.pause(true) : this.play();
  }

  play() {
    if (this.names.length < 2) return;
    if (this.pos >= this.names.length - 1) this.show(0);
    this.playing = true;
    this.playBtn.textContent = "❚❚ Pause";
    this.root.dataset.playing = "1";
    this.save();
    const tick = () => {
      if (!this.playing) return;
      if (!this.root.isConnected) return this.stopTimer();
      if (this.pos >= this.names.length - 1) return this.pause(true);
      const started = performance.now();
      this.show(this.pos + 1).then(() => {
        const wait = Math.max(0, this.frameMs / this.speed - (performance.now() - started));
        if (this.playing) this.timer = setTimeout(tick, wait);
      });
    };
    this.stopTimer();
    this.timer = setTimeout(tick, this.frameMs / this.speed);
  }

  stopTimer() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  pause(report) {
    const was = this.playing;
    this.playing = false;
    this.stopTimer();
    this.playBtn.textContent = "▶ Play";
    this.root.dataset.playing = "0";
    this.save();
    if (was && report) this.report();
  }

  reportSoon() {
    clearTimeout(this.reportTimer);
    this.reportTimer = setTimeout(() => this.report(), 450);
  }

  report() {
    clearTimeout(this.reportTimer);
    if (this.setStateValue && this.names.length) this.setStateValue("frame", this.names[this.pos]);
  }

  toggleHelp() {
    this.help.hidden = !this.help.hidden;
  }
}

// ---------------------------------------------------------------- drawing
class Drawing {
  constructor(parent, header, setStateValue) {
    this.id = header.id;
    this.setStateValue = setStateValue;
    this.root = el("div", "dkvb-draw");
    this.bar = el("div", "dkvb-bar");
    this.plot = el("div", "dkvb-plot dkvb-draw-plot");
    this.root.append(this.bar, this.plot);
    parent.appendChild(this.root);
    this.points = [];
    this.version = null;
    this.down = false;
  }

  buildBar(header) {
    this.bar.textContent = "";
    const pick = (label, options) => {
      const box = el("label", "dkvb-pick", label + " ");
      const sel = el("select", "dkvb-select");
      sel.setAttribute("aria-label", label);
      options.forEach((o, i) => {
        const opt = el("option", "", o);
        opt.value = String(i);
        sel.appendChild(opt);
      });
      box.appendChild(sel);
      this.bar.appendChild(box);
      return sel;
    };
    this.classSel = pick("Class", header.classes.map((c) => c.name));
    this.stageSel = pick("Stage", Array.from({ length: header.stages }, (_, i) => "stage " + (i + 1)));
    const b = (label, fn) => {
      const btn = el("button", "dkvb-btn", label);
      btn.type = "button";
      btn.addEventListener("click", (e) => {
        e.preventDefault();
        fn();
      });
      this.bar.appendChild(btn);
      return btn;
    };
    b("↶ Undo", () => {
      const stroke = this.points.length ? this.points[this.points.length - 1][4] : null;
      while (this.points.length && this.points[this.points.length - 1][4] === stroke) this.points.pop();
      this.redraw(true);
    });
    b("Clear", () => {
      this.points = [];
      this.redraw(true);
    });
    this.count = el("span", "dkvb-counter");
    this.bar.appendChild(this.count);
  }

  async update(header, Plotly) {
    this.Plotly = Plotly;
    this.header = header;
    if (header.version !== this.version) {
      this.version = header.version;
      this.points = (header.points || []).map((p, i) => [p[0], p[1], p[2], p[3], -1 - i]);
      this.buildBar(header);
      const [x0, x1, y0, y1] = header.bounds;
      const layout = Object.assign({}, header.layout, {
        xaxis: Object.assign({ range: [x0, x1], fixedrange: true, zeroline: false }, (header.layout || {}).xaxis),
        yaxis: Object.assign(
          { range: [y0, y1], fixedrange: true, zeroline: false, scaleanchor: "x", scaleratio: 1 },
          (header.layout || {}).yaxis
        ),
        dragmode: false,
        showlegend: false,
      });
      await Plotly.react(this.plot, [this.trace()], layout, { displayModeBar: false, responsive: true });
      this.attach();
    }
    this.redraw(false);
  }

  trace() {
    const colours = this.header.classes.map((c) => c.colour);
    const stageSymbols = ["circle", "square", "diamond", "triangle-up", "x", "star", "cross", "pentagon"];
    return {
      type: "scatter",
      mode: "markers",
      x: this.points.map((p) => p[0]),
      y: this.points.map((p) => p[1]),
      marker: {
        color: this.points.map((p) => colours[p[2] % colours.length]),
        symbol: this.points.map((p) => stageSymbols[p[3] % stageSymbols.length]),
        size: 10,
        line: { width: 1, color: "#1f2937" },
      },
      hoverinfo: "skip",
    };
  }

  attach() {
    if (this.attached) return;
    this.attached = true;
    let stroke = 0;
    let last = null;
    const toData = (ev) => {
      const full = this.plot._fullLayout;
      if (!full) return null;
      const xa = full.xaxis;
      const ya = full.yaxis;
      const rect = this.plot.getBoundingClientRect();
      const px = ev.clientX - rect.left - xa._offset;
      const py = ev.clientY - rect.top - ya._offset;
      if (px < 0 || py < 0 || px > xa._length || py > ya._length) return null;
      return { x: xa.p2d(px), y: ya.p2d(py), px: ev.clientX, py: ev.clientY };
    };
    const add = (pt) => {
      const c = Number(this.classSel.value);
      const s = Number(this.stageSel.value);
      this.points.push([+pt.x.toFixed(3), +pt.y.toFixed(3), c, s, stroke]);
      last = pt;
      this.redraw(false);
    };
    this.plot.addEventListener("pointerdown", (ev) => {
      const pt = toData(ev);
      if (!pt || this.points.length >= this.header.maxPoints) return;
      ev.preventDefault();
      stroke += 1;
      this.down = true;
      add(pt);
    });
    this.plot.addEventListener("pointermove", (ev) => {
      if (!this.down || this.points.length >= this.header.maxPoints) return;
      const pt = toData(ev);
      if (pt && Math.hypot(pt.px - last.px, pt.py - last.py) >= 14) add(pt);
    });
    const up = () => {
      if (!this.down) return;
      this.down = false;
      this.report();
    };
    this.plot.addEventListener("pointerup", up);
    this.plot.addEventListener("pointerleave", up);
  }

  redraw(report) {
    if (!this.Plotly) return;
    this.Plotly.react(this.plot, [this.trace()], this.plot.layout, { displayModeBar: false, responsive: true });
    this.count.textContent = this.points.length + " points";
    this.root.dataset.points = String(this.points.length);
    if (report) this.report();
  }

  report() {
    this.setStateValue("points", this.points.map((p) => p.slice(0, 4)));
  }
}

// ---------------------------------------------------------------- entry
export default function (component) {
  const { parentElement, data, setStateValue, setTriggerValue } = component;
  installKeys();
  const { header, body } = decode(data);
  if (header.kind === "keys") {
    let root = parentElement.querySelector(".dkvb-keys");
    if (!root) {
      root = el("div", "dkvb-keys");
      parentElement.appendChild(root);
    }
    REG.story = header.active
      ? { root, next: () => setTriggerValue("nav", "next"), prev: () => setTriggerValue("nav", "prev") }
      : null;
    return;
  }
  if (header.kind === "preload") {
    loadPlotly(header.plotlyUrl).catch(() => null);
    return;
  }
  let obj = parentElement.__dkvb;
  if (!obj) {
    obj = parentElement.__dkvb =
      header.kind === "draw" ? new Drawing(parentElement, header, setStateValue) : new Player(parentElement, header, setStateValue);
  }
  obj.setStateValue = setStateValue;
  loadPlotly(header.plotlyUrl).then(
    (Plotly) => (header.kind === "draw" ? obj.update(header, Plotly) : obj.update(header, body, Plotly)),
    (err) => {
      obj.root.textContent = "The chart library could not be loaded from this server (" + err.message + "). Reload the page.";
    }
  );
}
