/* mcscale explore: controls -> POST /api/run -> figures (uPlot) and answers.
 *
 * The state is {values: {control id: number or text}, seed, draws, metric, questions}; it
 * lives in the URL's fragment (#seed=0&draws=100000&spend.initial.p5=5e8&q=...), so a link
 * reproduces the view. One request runs at a time: changes made while it runs replace one
 * another, and only the newest is sent when it returns, so a burst of slider moves runs
 * only its last state. Every value goes to the server's scenario validator; a bad one gets
 * the validator's message next to its control, and the last good state stays on screen.
 */
(function () {
  "use strict";

  var BLUE = "#0072B2", VERMILLION = "#D55E00", ORANGE = "#E69F00", GREY = "#555555";
  var SLIDER_STEPS = 1000;

  var info = null;             // GET /api/scenario
  var controls = {};           // id -> {spec, group, slider, box, msg, row}
  var groups = {};             // id -> {spec, fieldset, msg}
  var state = null;            // what the controls say now
  var shown = null;            // the last good response
  var charts = {};             // name -> uPlot
  var queue = { inFlight: false, pending: null };
  var linkNotes = [];          // what a link asked for that this page cannot show
  var stats = { sent: 0, done: 0, errors: 0, renders: 0, last: null };
  window.mcscaleExplore = { stats: stats, state: function () { return state; }, shown: function () { return shown; } };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "class") node.className = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ------------------------------------------------------------------ numbers

  function trim(text) { return text.indexOf("e") < 0 && text.indexOf(".") >= 0 ? text.replace(/\.?0+$/, "") : text; }
  function sig(x, digits) {
    // x with `digits` significant digits, short: 4e8, 2.4e18, 0.2, 6.07
    if (!isFinite(x)) return String(x);
    if (x === 0) return "0";
    var a = Math.abs(x);
    if (a >= 1e5 || a < 1e-3) {
      var parts = x.toExponential(digits - 1).split("e");
      return trim(parts[0]) + "e" + parseInt(parts[1], 10);
    }
    return trim(x.toPrecision(digits));
  }
  function roundSig(x, digits) { return x === 0 || !isFinite(x) ? x : Number(x.toPrecision(digits)); }
  function usd(x) {
    var units = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
    for (var i = 0; i < units.length; i++) if (Math.abs(x) >= units[i][0] * 0.9995) return "$" + sig(x / units[i][0], 3) + units[i][1];
    return "$" + sig(x, 3);
  }
  function fromLog(v, unit) {
    // a log10 value as its quantity: 1e25, $1B
    var x = Math.pow(10, v);
    if (unit === "USD") return usd(x);
    if (Math.abs(v - Math.round(v)) < 1e-9) return "1e" + Math.round(v);
    return sig(x, 3);
  }
  function multiple(k) {
    // 10^k as a multiple of the reference: 1x, 1000x, 1e6x, 0.01x
    var m = Math.pow(10, k);
    if (k >= 0 && k < 5 && Math.abs(k - Math.round(k)) < 1e-9) return Math.round(m) + "x";
    return sig(m, 2) + "x";
  }
  function boxText(value) { return typeof value === "number" ? sig(value, 6) : String(value); }
  function readNumber(text) {
    // a number when the text is one (finite), else the text itself: the validator says what is wrong
    var t = String(text).trim();
    var x = t === "" ? NaN : Number(t);
    return isFinite(x) ? x : t;
  }

  // ------------------------------------------------------------------ sliders

  function toSlider(spec, value) {
    if (typeof value !== "number" || !isFinite(value)) return SLIDER_STEPS / 2;
    var lo = spec.low, hi = spec.high, f;
    if (spec.log) {
      if (value <= 0) return 0;
      f = (Math.log(value) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
    } else {
      f = (value - lo) / (hi - lo);
    }
    return Math.round(Math.min(1, Math.max(0, f)) * SLIDER_STEPS);
  }
  function fromSlider(spec, position) {
    var f = position / SLIDER_STEPS, x;
    if (spec.log) x = Math.exp(Math.log(spec.low) + f * (Math.log(spec.high) - Math.log(spec.low)));
    else x = spec.low + f * (spec.high - spec.low);
    if (!spec.log && Math.abs(x) < (spec.high - spec.low) * 1e-6) x = 0;
    return roundSig(x, 3);
  }

  // ------------------------------------------------------------------ state <-> URL

  function defaultState() {
    var d = info.default;
    return { values: {}, seed: d.seed, draws: d.draws, metric: d.metric, questions: d.questions.slice(), compare: true };
  }
  function sameQuestions(a, b) { return a.length === b.length && a.every(function (q, i) { return q === b[i]; }); }

  function encodeState(s) {
    var p = new URLSearchParams();
    p.set("scenario", info.scenario);
    p.set("seed", String(s.seed));
    p.set("draws", String(s.draws));
    if (s.metric !== info.default.metric) p.set("metric", s.metric);
    if (!s.compare) p.set("compare", "0");
    Object.keys(s.values).forEach(function (id) { p.set(id, boxText(s.values[id])); });
    if (!sameQuestions(s.questions, info.default.questions)) {
      if (s.questions.length === 0) p.set("noq", "1");
      s.questions.forEach(function (q) { p.append("q", q); });
    }
    return p.toString();
  }

  function decodeState(hash) {
    var s = defaultState(), notes = [];
    var p = new URLSearchParams(hash.replace(/^#/, ""));
    p.forEach(function (value, key) {
      if (key === "seed") s.seed = readNumber(value);
      else if (key === "draws") s.draws = readNumber(value);
      else if (key === "metric") s.metric = value;
      else if (key === "compare") s.compare = value !== "0";
      else if (key === "q" || key === "noq" || key === "scenario") { /* below */ }
      else if (controls[key]) s.values[key] = readNumber(value);
      else notes.push("the link sets " + key + ", which this scenario does not have; left out");
    });
    if (p.has("q")) s.questions = p.getAll("q");
    else if (p.get("noq") === "1") s.questions = [];
    if (p.has("scenario") && p.get("scenario") !== info.scenario)
      notes.push("the link was made for scenario " + p.get("scenario") + "; this page shows " + info.scenario);
    return { state: s, notes: notes };
  }

  function requestBody(s) {
    var values = {};
    Object.keys(s.values).forEach(function (id) {
      if (s.values[id] !== controls[id].spec.value) values[id] = s.values[id];
    });
    return { values: values, seed: s.seed, draws: s.draws, metric: s.metric, questions: s.questions.slice() };
  }

  // ------------------------------------------------------------------ controls

  function buildControls() {
    var host = $("groups");
    info.groups.forEach(function (g) {
      var fieldset = el("fieldset", { "class": "prior", "data-id": g.id });
      var legend = el("legend", {}, g.title + " ");
      legend.appendChild(el("small", {}, g.dist + (g.unit && g.unit !== "1" ? " · " + g.unit : "")));
      var reset = el("button", { "type": "button", "class": "reset-prior", "title": "back to the file's values" }, "reset");
      reset.hidden = true;
      fieldset.appendChild(legend);
      fieldset.appendChild(reset);
      if (g.meaning) fieldset.appendChild(el("p", { "class": "meaning" }, g.meaning.replace(/`/g, "")));
      var gmsg = el("div", { "class": "msg", "data-for": g.id });
      groups[g.id] = { spec: g, fieldset: fieldset, msg: gmsg, reset: reset };
      g.controls.forEach(function (c) {
        var row = el("div", { "class": "control", "data-id": c.id });
        var label = el("label", { "for": "box-" + c.id, "title": c.id }, c.label);
        var slider = el("input", { "type": "range", "min": "0", "max": String(SLIDER_STEPS), "step": "1",
          "aria-label": c.id + " slider", "data-id": c.id });
        var box = el("input", { "type": "text", "class": "num", "id": "box-" + c.id, "data-id": c.id,
          "autocomplete": "off", "spellcheck": "false", "aria-label": c.id });
        var msg = el("div", { "class": "msg", "data-for": c.id });
        row.appendChild(label); row.appendChild(slider); row.appendChild(box); row.appendChild(msg);
        fieldset.appendChild(row);
        controls[c.id] = { spec: c, group: g.id, slider: slider, box: box, msg: msg, row: row };
        slider.addEventListener("input", function () {
          var x = fromSlider(c, Number(slider.value));
          state.values[c.id] = x;
          box.value = boxText(x);
          changed();
        });
        box.addEventListener("change", function () {
          var x = readNumber(box.value);
          state.values[c.id] = x;
          slider.value = String(toSlider(c, x));
          changed();
        });
      });
      reset.addEventListener("click", function () {
        g.controls.forEach(function (c) { delete state.values[c.id]; });
        syncControls();
        changed();
      });
      fieldset.appendChild(gmsg);
      host.appendChild(fieldset);
    });
  }

  function syncControls() {
    Object.keys(controls).forEach(function (id) {
      var c = controls[id];
      var value = id in state.values ? state.values[id] : c.spec.value;
      c.box.value = boxText(value);
      c.slider.value = String(toSlider(c.spec, value));
    });
    $("seed").value = String(state.seed);
    $("draws").value = String(state.draws);
    $("metric").value = state.metric;
    $("compare").checked = state.compare;
    document.body.classList.toggle("no-compare", !state.compare);
    buildQuestions();
    markChanged();
  }

  function markChanged() {
    Object.keys(groups).forEach(function (gid) {
      var any = false;
      groups[gid].spec.controls.forEach(function (c) {
        var moved = c.id in state.values && state.values[c.id] !== c.value;
        controls[c.id].row.classList.toggle("changed", moved);
        any = any || moved;
      });
      groups[gid].fieldset.classList.toggle("changed", any);
      groups[gid].reset.hidden = !any;
    });
  }

  function buildQuestions() {
    var list = $("questions");
    list.textContent = "";
    state.questions.forEach(function (text, i) {
      var item = el("li", { "class": "question", "data-index": String(i) });
      var row = el("div", { "class": "row" });
      var input = el("input", { "type": "text", "value": text, "aria-label": "question " + (i + 1), "spellcheck": "false" });
      input.value = text;
      var remove = el("button", { "type": "button", "title": "remove this question" }, "×");
      row.appendChild(input); row.appendChild(remove);
      item.appendChild(row);
      item.appendChild(el("pre", { "class": "msg", "data-for": "questions[" + i + "]" }));
      list.appendChild(item);
      input.addEventListener("change", function () { state.questions[i] = input.value; changed(); });
      remove.addEventListener("click", function () { state.questions.splice(i, 1); buildQuestions(); changed(); });
    });
  }

  // ------------------------------------------------------------------ the queue

  function changed() {
    markChanged();
    queue.pending = { body: requestBody(state), compare: state.compare, t0: performance.now() };
    if (!queue.inFlight) pump();
    else setStatus("busy", "computing… (newest change queued)");
  }

  function pump() {
    var job = queue.pending;
    queue.pending = null;
    if (!job) return;
    queue.inFlight = true;
    stats.sent += 1;
    setStatus("busy", "computing…");
    var sent = performance.now();
    fetch("/api/run", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(job.body) })
      .then(function (response) {
        return response.json().then(function (payload) { return { ok: response.ok, status: response.status, payload: payload }; },
          function () { return { ok: false, status: response.status, payload: { error: "the server answered " + response.status } }; });
      })
      .then(function (reply) {
        stats.done += 1;
        if (reply.ok) show(job, reply.payload, sent);
        else failed(job, reply.payload);
      })
      .catch(function (error) {
        stats.done += 1;
        failed(job, { error: "no answer from the server (" + error.message + "); is mcscale explore still running?" });
      })
      .then(function () {
        queue.inFlight = false;
        if (queue.pending) pump();
      });
  }

  function setStatus(kind, text) {
    document.body.setAttribute("data-state", kind);
    $("status").textContent = text;
  }

  // ------------------------------------------------------------------ messages

  function clearMessages() {
    document.querySelectorAll(".msg").forEach(function (node) { node.textContent = ""; });
    document.querySelectorAll(".invalid").forEach(function (node) { node.classList.remove("invalid"); });
    $("banner").textContent = linkNotes.join("\n");
    $("banner").hidden = linkNotes.length === 0;
  }

  function failed(job, payload) {
    stats.errors += 1;
    clearMessages();
    var general = [];
    (payload.problems || []).forEach(function (p) {
      var f = p.field;
      if (controls[f]) {
        controls[f].msg.textContent = p.message;
        controls[f].box.classList.add("invalid");
      } else if (groups[f]) {
        groups[f].msg.textContent = p.message;
      } else if (f === "seed" || f === "draws" || f === "metric") {
        $("toolbar-msg").textContent += f + ": " + p.message + " ";
        $(f).classList.add("invalid");
      } else if (/^questions\[\d+\]$/.test(f)) {
        var node = document.querySelector('[data-for="' + f + '"]');
        if (node) { node.textContent = p.message; node.parentNode.querySelector("input").classList.add("invalid"); }
        document.querySelector("details.questions").open = true;
      } else {
        general.push((f ? f + ": " : "") + p.message);
      }
    });
    var banner = $("banner");
    var head = (payload.error || "not run") + (shown ? " — the figures and answers show the last good state." : ".");
    banner.textContent = [head].concat(general, linkNotes).join("\n");
    banner.hidden = false;
    setStatus("error", payload.error || "not run");
    if (queue.pending) setStatus("busy", "computing…");
  }

  // ------------------------------------------------------------------ figures

  function chartWidth(id) {
    var node = $(id);
    return Math.max(260, Math.floor(node.getBoundingClientRect().width));
  }

  function axisFont() { return "12px system-ui, sans-serif"; }
  function xAxis() {
    // years as written (uPlot would group digits: 2,030)
    return { font: axisFont(), grid: { stroke: "#eee" }, values: function (u, splits) { return splits.map(function (v) { return String(v); }); } };
  }
  function line(label, stroke, width, dash) {
    var s = { label: label, stroke: stroke, width: width, points: { show: false } };
    if (dash) s.dash = dash;
    return s;
  }

  function fanChart(fan, original, history, compare, width) {
    var unit = fan.unit, levels = fan.levels.slice().sort(function (a, b) { return b - a; });
    var data = [fan.years, fan.median];
    var series = [{ label: "year" }, line("median", BLUE, 2)];
    var bands = [];
    var alphas = { "0.95": 0.16, "0.8": 0.26, "0.5": 0.42 };
    levels.forEach(function (level) {
      var key = String(level);
      var up = data.length, lo = data.length + 1;
      data.push(fan.upper[key], fan.lower[key]);
      series.push(line(Math.round(level * 100) + "% upper", "rgba(0,114,178,0.45)", 1));
      series.push(line(Math.round(level * 100) + "% lower", "rgba(0,114,178,0.45)", 1));
      bands.push({ series: [up, lo], fill: "rgba(0,114,178," + (alphas[key] || 0.2) + ")" });
    });
    if (compare && original) {
      var widest = String(Math.max.apply(null, original.levels));
      data.push(original.median, original.upper[widest], original.lower[widest]);
      series.push(line("as loaded: median", GREY, 1.5, [6, 4]));
      series.push(line("as loaded: upper", GREY, 1, [2, 3]));
      series.push(line("as loaded: lower", GREY, 1, [2, 3]));
    }
    var flop = fan.metric === "effective_flop" || fan.metric === "physical_flop";
    var refLog = Math.log10(fan.reference[1]);
    var hist = flop && history ? history : null;
    var xMin = fan.years[0], xMax = fan.years[fan.years.length - 1];
    if (hist && hist.year.length) xMin = Math.min(xMin, Math.floor(Math.min.apply(null, hist.year)));
    var extra = [];
    if (hist) extra = extra.concat(hist.log10_flop);
    if (flop) extra.push(refLog, refLog + 3);
    if (fan.requirement) extra.push(fan.requirement.lower, fan.requirement.upper);
    var axes = [
      xAxis(),
      {
        font: axisFont(), grid: { stroke: "#eee" }, size: 64, incrs: [1, 2, 3, 5, 10, 20],
        values: function (u, splits) { return splits.map(function (v) { return fromLog(v, unit); }); },
        label: unit === "1" ? "×" : unit, labelFont: axisFont(), labelSize: 18,
      },
    ];
    if (flop && width >= 480) {  // multiples of the reference run on the right (not on a phone)
      axes.push({
        side: 1, scale: "y", font: axisFont(), grid: { show: false }, size: 60,
        splits: function (u, i, min, max) {
          var room = Math.max(4, Math.floor((u.bbox.height / uPlot.pxRatio || 300) / 28));
          var step = [1, 2, 3, 4, 5, 10, 20].filter(function (s) { return (max - min) / s <= room; })[0] || 20;
          var out = [];
          for (var k = Math.ceil(min - refLog); k <= Math.floor(max - refLog); k += 1) if (k % step === 0) out.push(k + refLog);
          return out;
        },
        values: function (u, splits) { return splits.map(function (v) { return multiple(v - refLog); }); },
        label: "× " + fan.reference[0], labelFont: axisFont(), labelSize: 18,
      });
    }
    var opts = {
      width: width, height: Math.round(Math.min(420, Math.max(260, width * 0.5))),
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: { time: false, range: function () { return [xMin, xMax]; } },
        y: {
          range: function (u, min, max) {
            var lo = Math.min.apply(null, [min].concat(extra)), hi = Math.max.apply(null, [max].concat(extra));
            var pad = Math.max(0.3, (hi - lo) * 0.04);
            return [Math.floor(lo - pad), Math.ceil(hi + pad)];
          },
        },
      },
      series: series, bands: bands, axes: axes,
      hooks: {
        drawClear: [function (u) { drawRequirement(u, fan); }],
        draw: [function (u) { drawFanExtras(u, fan, hist, flop, refLog); }],
        setCursor: [function (u) { fanReadout(u, fan); }],
      },
    };
    return new uPlot(opts, data, $("fan"));
  }

  function drawRequirement(u, fan) {
    // the milestone's requirement, median and central interval, under the fan (a drawClear hook)
    var req = fan.requirement;
    if (!req) return;
    var ctx = u.ctx, r = uPlot.pxRatio, box = u.bbox;
    ctx.save();
    ctx.beginPath(); ctx.rect(box.left, box.top, box.width, box.height); ctx.clip();
    ctx.font = Math.round(11 * r) + "px system-ui, sans-serif";
    ctx.textBaseline = "alphabetic";
    var top = u.valToPos(req.upper, "y", true), bottom = u.valToPos(req.lower, "y", true);
    var mid = u.valToPos(req.median, "y", true);
    ctx.fillStyle = "rgba(230,159,0,0.12)";
    ctx.fillRect(box.left, top, box.width, bottom - top);
    ctx.strokeStyle = ORANGE; ctx.lineWidth = 1.5 * r; ctx.setLineDash([6 * r, 4 * r]);
    ctx.beginPath(); ctx.moveTo(box.left, mid); ctx.lineTo(box.left + box.width, mid); ctx.stroke();
    ctx.setLineDash([]); ctx.fillStyle = "#8a5a00"; ctx.textAlign = "right";
    ctx.fillText(req.name + " requirement: median and " + Math.round(req.level * 100) + "% interval",
      box.left + box.width - 4 * r, mid - 4 * r);
    ctx.restore();
  }

  function drawFanExtras(u, fan, hist, flop, refLog) {
    var ctx = u.ctx, r = uPlot.pxRatio, box = u.bbox;
    ctx.save();
    ctx.beginPath(); ctx.rect(box.left, box.top, box.width, box.height); ctx.clip();
    ctx.font = Math.round(11 * r) + "px system-ui, sans-serif";
    ctx.textAlign = "left";  // uPlot leaves the last axis's alignment
    ctx.textBaseline = "alphabetic";
    if (flop) {
      [[refLog, fan.reference[0]], [refLog + 3, "1000x " + fan.reference[0]]].forEach(function (line) {
        var y = u.valToPos(line[0], "y", true);
        ctx.strokeStyle = "#888"; ctx.lineWidth = r; ctx.setLineDash([4 * r, 3 * r]);
        ctx.beginPath(); ctx.moveTo(box.left, y); ctx.lineTo(box.left + box.width, y); ctx.stroke();
        ctx.setLineDash([]); ctx.fillStyle = "#555";
        ctx.fillText(line[1], box.left + 4 * r, y - 3 * r);
      });
    }
    if (hist) {
      ctx.fillStyle = "rgba(213,94,0,0.75)"; ctx.strokeStyle = VERMILLION;
      for (var i = 0; i < hist.year.length; i++) {
        var x = u.valToPos(hist.year[i], "x", true), y = u.valToPos(hist.log10_flop[i], "y", true);
        ctx.beginPath(); ctx.arc(x, y, 2.6 * r, 0, 2 * Math.PI); ctx.fill();
        var label = hist.labels[String(i)];
        if (label) {
          ctx.lineWidth = 1.2 * r; ctx.beginPath(); ctx.arc(x, y, 5.5 * r, 0, 2 * Math.PI); ctx.stroke();
          ctx.fillStyle = "#7a3300"; ctx.fillText(label, x + 7 * r, y + 4 * r); ctx.fillStyle = "rgba(213,94,0,0.75)";
        }
      }
    }
    ctx.restore();
  }

  function fanReadout(u, fan) {
    var i = u.cursor.idx, node = $("fan-readout");
    if (i == null) { node.textContent = ""; return; }
    var widest = String(Math.max.apply(null, fan.levels)), inner = String(Math.min.apply(null, fan.levels));
    node.textContent = fan.years[i] + ": median " + fromLog(fan.median[i], fan.unit) +
      "; " + Math.round(inner * 100) + "%: " + fromLog(fan.lower[inner][i], fan.unit) + " to " + fromLog(fan.upper[inner][i], fan.unit) +
      "; " + Math.round(widest * 100) + "%: " + fromLog(fan.lower[widest][i], fan.unit) + " to " + fromLog(fan.upper[widest][i], fan.unit);
  }

  function exceedanceChart(exc, original, compare, width) {
    var curve = exc.curves[0];
    var hi = curve.probability.map(function (p, i) { return Math.min(1, p + 1.96 * curve.mcse[i]); });
    var lo = curve.probability.map(function (p, i) { return Math.max(0, p - 1.96 * curve.mcse[i]); });
    var data = [curve.years, curve.probability, hi, lo];
    var series = [{ label: "year" }, line(curve.label, VERMILLION, 2),
      line("+1.96 MCSE", "rgba(213,94,0,0.3)", 1), line("-1.96 MCSE", "rgba(213,94,0,0.3)", 1)];
    if (compare && original) {
      data.push(original.curves[0].probability);
      series.push(line("as loaded", GREY, 1.5, [6, 4]));
    }
    var opts = {
      width: width, height: Math.round(Math.min(300, Math.max(220, width * 0.55))),
      legend: { show: false }, cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, y: { range: [0, 1] } },
      series: series, bands: [{ series: [2, 3], fill: "rgba(213,94,0,0.15)" }],
      axes: [xAxis(),
        { font: axisFont(), grid: { stroke: "#eee" }, size: 44, incrs: [0.1, 0.2, 0.25, 0.5],
          values: function (u, s) { return s.map(function (v) { return v.toFixed(1); }); },
          label: "probability", labelFont: axisFont(), labelSize: 18 }],
      hooks: { setCursor: [function (u) {
        var i = u.cursor.idx, node = $("exceedance-readout");
        if (i == null) { node.textContent = ""; return; }
        var text = "by " + curve.years[i] + ": P = " + curve.probability[i].toFixed(4) + " ± " + curve.mcse[i].toFixed(4);
        if (compare && original) text += " (as loaded " + original.curves[0].probability[i].toFixed(4) + ")";
        node.textContent = text;
      }] },
    };
    return new uPlot(opts, data, $("exceedance"));
  }

  function crossingChart(cr, original, compare, width) {
    var x = cr.edges.slice(0, -1).concat([cr.edges[cr.edges.length - 1]]);
    var share = cr.share.concat([null]);
    var data = [x, share];
    var series = [{ label: "year" }, {
      label: "share of draws", stroke: BLUE, fill: "rgba(0,114,178,0.55)", width: 1,
      paths: uPlot.paths.bars({ size: [1, Infinity], align: 1, gap: 1 }), points: { show: false },
    }];
    if (compare && original) {
      data.push(original.share.concat([original.share[original.share.length - 1]]));
      series.push({ label: "as loaded", stroke: GREY, width: 1.5, dash: [6, 4], paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } });
    }
    var opts = {
      width: width, height: Math.round(Math.min(300, Math.max(220, width * 0.55))),
      legend: { show: false }, cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false, range: function () { return [cr.edges[0], cr.edges[cr.edges.length - 1]]; } },
        y: { range: function (u, min, max) { return [0, Math.max(0.05, max * 1.08)]; } } },
      series: series,
      axes: [xAxis(),
        { font: axisFont(), grid: { stroke: "#eee" }, size: 48,
          values: function (u, s) { return s.map(function (v) { return Math.round(v * 100) + "%"; }); },
          label: "share of draws per year", labelFont: axisFont(), labelSize: 18 }],
      hooks: { setCursor: [function (u) {
        var i = u.cursor.idx, node = $("crossing-readout");
        if (i == null || i >= cr.share.length) { node.textContent = ""; return; }
        node.textContent = cr.edges[i] + "–" + cr.edges[i + 1] + ": " + (cr.share[i] * 100).toFixed(2) + "% of draws first cross";
      }] },
    };
    return new uPlot(opts, data, $("crossing"));
  }

  function legend(id, items) {
    var node = $(id);
    node.textContent = "";
    items.forEach(function (item) {
      var span = el("span", {});
      var key = el("span", { "class": "key" });
      key.style.cssText = item.style;
      span.appendChild(key);
      span.appendChild(document.createTextNode(item.text));
      node.appendChild(span);
    });
  }

  function metricTitle(id) {
    var m = info.metrics.filter(function (x) { return x.id === id; })[0];
    return m ? m.title : id;
  }

  function drawCharts() {
    if (!shown) return;
    var t0 = performance.now();
    var c = shown.payload.charts, o = shown.payload.original, compare = shown.compare;
    Object.keys(charts).forEach(function (k) { charts[k].destroy(); });
    charts = {};
    var fan = c.fan;
    charts.fan = fanChart(fan, o.fan, c.history, compare, chartWidth("fan"));
    charts.exceedance = exceedanceChart(c.exceedance, o.exceedance, compare, chartWidth("exceedance"));
    charts.crossing = crossingChart(c.crossing, o.crossing, compare, chartWidth("crossing"));
    var bandText = fan.levels.slice().sort().map(function (l) { return Math.round(l * 100); }).join("/");
    $("fan-title").textContent = shown.payload.scenario + ": " + metricTitle(fan.metric) + " [" + fan.unit + "], median and central " +
      bandText + "% bands (" + shown.payload.n_draws.toLocaleString("en") + " draws, seed " + shown.payload.seed + ")";
    var items = [{ style: "border-top: 2px solid " + BLUE + "; height: 0", text: "median" },
      { style: "background: rgba(0,114,178,0.42)", text: "50%" }, { style: "background: rgba(0,114,178,0.26)", text: "80%" },
      { style: "background: rgba(0,114,178,0.16)", text: "95%" }];
    if (compare) items.push({ style: "border-top: 2px dashed " + GREY + "; height: 0", text: "file as loaded: median and 95% band" });
    if (fan.requirement) items.push({ style: "background: rgba(230,159,0,0.25); border-top: 2px dashed " + ORANGE,
      text: fan.requirement.name + " requirement: median and " + Math.round(fan.requirement.level * 100) + "% interval" });
    if (c.history && (fan.metric === "effective_flop" || fan.metric === "physical_flop")) {
      items.push({ style: "background: " + VERMILLION + "; width: 8px; height: 8px; border-radius: 50%", text: "frontier runs (physical FLOP)" });
      $("history-credit").textContent = c.history.credit;
    } else {
      $("history-credit").textContent = "";
    }
    legend("fan-legend", items);
    var q = shown.payload.figure_question;
    var exc = c.exceedance, cr = c.crossing;
    $("exceedance-title").textContent = exc.title.replace(/^[^:]*: /, "") + (q ? "" : " (no question with a threshold: the default)");
    var never = cr.p_never == null ? "" : "; P(never by " + cr.edges[cr.edges.length - 1] + ") = " + cr.p_never.toFixed(4);
    $("crossing-title").textContent = "First year " + metricTitle(cr.metric) + " ≥ " + cr.threshold + never;
    var li = [{ style: "border-top: 2px solid " + VERMILLION + "; height: 0", text: "P, with ±1.96 MCSE" }];
    if (compare) li.push({ style: "border-top: 2px dashed " + GREY + "; height: 0", text: "file as loaded" });
    legend("exceedance-legend", li);
    var lc = [{ style: "background: rgba(0,114,178,0.55)", text: "share first crossing in each year" }];
    if (compare) lc.push({ style: "border-top: 2px dashed " + GREY + "; height: 0", text: "file as loaded" });
    legend("crossing-legend", lc);
    stats.renders += 1;
    return performance.now() - t0;
  }

  function plusMinus(mcse) {
    // "± 0.0016", but "none (every draw qualifies); ..." as it is
    return /^[\d$.]/.test(mcse) ? "± " + mcse : mcse;
  }

  function drawAnswers(payload) {
    var body = document.querySelector("#answers tbody");
    body.textContent = "";
    if (!payload.answers.length) {
      var row = el("tr", {});
      row.appendChild(el("td", { "colspan": "3", "class": "hint" }, "No questions: add one below."));
      body.appendChild(row);
    }
    payload.answers.forEach(function (a, i) {
      var row = el("tr", { "class": "answer", "data-index": String(i) });
      row.appendChild(el("td", { "class": "question-text" }, a.question));
      // data-value: the number in full (a probability, else the median), as `mcscale query --json` prints it
      var main = a.answer.value !== undefined ? a.answer.value : a.answer.median !== undefined ? a.answer.median
        : a.answer.quantiles ? a.answer.quantiles["50%"] : a.answer.interval || null;
      var value = el("td", { "class": "value", "data-value": JSON.stringify(main) });
      value.appendChild(el("span", { "class": "main" }, a.value));
      value.appendChild(el("span", { "class": "mcse" }, plusMinus(a.mcse)));
      if (a.original && a.original.value !== a.value) value.classList.add("moved");
      row.appendChild(value);
      var orig = el("td", { "class": "orig" });
      if (a.original) {
        orig.appendChild(el("span", { "class": "main" }, a.original.value));
        orig.appendChild(el("span", { "class": "mcse" }, plusMinus(a.original.mcse)));
      } else {
        orig.textContent = "— (not a question of the file as loaded)";
      }
      row.appendChild(orig);
      row.answer = a.answer;
      body.appendChild(row);
    });
  }

  function show(job, payload, sent) {
    clearMessages();
    var received = performance.now();
    shown = { payload: payload, compare: job.compare, body: job.body };
    drawAnswers(payload);
    var drawMs = drawCharts();
    $("toml").textContent = payload.toml;
    $("command").textContent = payload.command;
    $("draws-used").textContent = payload.n_draws.toLocaleString("en") + " draws, seed " + payload.seed +
      (payload.n_draws !== job.body.draws ? " (rounded up to whole chunks from " + job.body.draws.toLocaleString("en") + ")" : "");
    var s = { values: payload.state.values, seed: payload.state.seed, draws: payload.state.draws, metric: payload.state.metric,
      questions: payload.state.questions, compare: job.compare };
    history.replaceState(null, "", "#" + encodeState(s));
    requestAnimationFrame(function () {
      var total = performance.now() - job.t0;
      var t = payload.timing;
      var server = t.total * 1000;
      stats.last = { total_ms: total, server_ms: server, sampling_ms: t.sampling * 1000, wait_ms: sent - job.t0,
        network_ms: received - sent - server, draw_ms: drawMs, runs: payload.runs };
      document.body.setAttribute("data-total-ms", total.toFixed(0));
      document.body.setAttribute("data-runs", String(payload.runs));
      $("timing").textContent = "· updated in " + (total / 1000).toFixed(2) + " s after the change (server " + (server / 1000).toFixed(2) +
        " s: sampling " + t.sampling.toFixed(2) + " s, figures " + (t.figures || 0).toFixed(2) + " s, answers " + (t.answers || 0).toFixed(2) +
        " s" + (t.original_sampling ? ", file as loaded " + t.original_sampling.toFixed(2) + " s" : "") + "; drawing " + (drawMs / 1000).toFixed(2) + " s)";
      if (!queue.pending && !queue.inFlight) setStatus("ready", "up to date");
      else if (!queue.pending) setStatus("ready", "up to date");
    });
    if (queue.pending) setStatus("busy", "computing…");
  }

  // ------------------------------------------------------------------ toolbar

  function download(name, text) {
    var url = URL.createObjectURL(new Blob([text], { type: "application/toml" }));
    var a = el("a", { "href": url, "download": name });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  function wireToolbar() {
    var select = $("metric");
    info.metrics.forEach(function (m) { select.appendChild(el("option", { "value": m.id }, m.title + " [" + m.unit + "]")); });
    $("seed").addEventListener("change", function () { state.seed = readNumber($("seed").value); changed(); });
    $("draws").addEventListener("change", function () { state.draws = readNumber($("draws").value); changed(); });
    select.addEventListener("change", function () { state.metric = select.value; changed(); });
    $("compare").addEventListener("change", function () {
      state.compare = $("compare").checked;
      document.body.classList.toggle("no-compare", !state.compare);
      if (shown) {
        shown.compare = state.compare;
        drawCharts();
        history.replaceState(null, "", "#" + encodeState(Object.assign({}, state)));
      }
    });
    $("save").addEventListener("click", function () { if (shown) download(shown.payload.filename, shown.payload.toml); });
    $("copy-link").addEventListener("click", function () {
      var link = location.href;
      var done = function () { setStatus(document.body.getAttribute("data-state"), "link copied"); };
      if (navigator.clipboard) navigator.clipboard.writeText(link).then(done, function () { window.prompt("Copy this link", link); });
      else window.prompt("Copy this link", link);
    });
    $("reset").addEventListener("click", function () { state = defaultState(); syncControls(); changed(); });
    $("add-question").addEventListener("click", function () {
      state.questions.push("");
      buildQuestions();
      var inputs = document.querySelectorAll("#questions input");
      inputs[inputs.length - 1].focus();
    });
    var pendingResize = null;
    window.addEventListener("resize", function () {
      clearTimeout(pendingResize);
      pendingResize = setTimeout(drawCharts, 120);
    });
  }

  // ------------------------------------------------------------------ start

  function start() {
    fetch("/api/scenario").then(function (r) { return r.json(); }).then(function (payload) {
      info = payload;
      $("scenario-name").textContent = info.scenario;
      $("description").textContent = info.description;
      $("version").textContent = "mcscale " + info.version + " · " + info.source;
      document.title = info.scenario + " · mcscale explore";
      buildControls();
      wireToolbar();
      var decoded = decodeState(location.hash);
      state = decoded.state;
      syncControls();
      changed();
      linkNotes = decoded.notes;
      clearMessages();
    }).catch(function (error) {
      setStatus("error", "cannot load the scenario from the server: " + error.message);
    });
  }

  start();
})();
