/* splitbrain timeline: client ops as bars per thread on a canvas, fault bands behind them.
 *
 * The data comes from reports/timeline.py as columns (one array per field) in a
 * <script type="application/json"> element. Canvas rather than one element per op keeps 100k ops
 * responsive; tooltips are filled with textContent only, so history values are never parsed as HTML.
 * Wheel zooms around the pointer, drag pans, double-click resets.
 */
(function () {
  "use strict";
  var COLORS = ["#43a047", "#e53935", "#fb8c00"];
  var LEFT = 78, TOP = 24, BOTTOM = 6;

  function niceStep(span, target) {
    var raw = span / target, mag = Math.pow(10, Math.floor(Math.log10(raw))), n = raw / mag;
    return (n < 1.5 ? 1 : n < 3.5 ? 2 : n < 7.5 ? 5 : 10) * mag;
  }

  function fmtSeconds(us, step) {
    var digits = step ? Math.max(0, Math.min(6, Math.ceil(-Math.log10(step / 1e6)))) : 3;
    return (us / 1e6).toFixed(digits) + " s";
  }

  function show(v) { return v === undefined ? "" : JSON.stringify(v); }

  function Timeline(root, data) {
    this.root = root;
    this.data = data;
    this.ops = data.ops;
    this.canvas = root.querySelector("canvas");
    this.tip = root.querySelector(".tl-tip");
    this.status = root.querySelector(".tl-status");
    this.ctx = this.canvas.getContext("2d");
    var n = data.lanes.length;
    this.rowH = Math.max(5, Math.min(20, Math.floor(520 / Math.max(n, 1))));
    this.height = TOP + n * this.rowH + BOTTOM;
    this.full = [0, data.end * 1.01];
    this.view = this.full.slice();
    this.highlight = {};
    for (var h = 0; h < data.highlight.length; h++) { this.highlight[data.highlight[h]] = true; }
    this.focusOp = data.focus >= 0 ? data.focus : -1;
    this.index();
    this.bind();
    this.resize();
  }

  Timeline.prototype.index = function () {
    // Per lane: op ids sorted by start; the longest finished duration bounds the backwards search.
    var o = this.ops, n = this.data.count, lanes = [], i;
    for (i = 0; i < this.data.lanes.length; i++) { lanes.push({ ids: [], maxDur: 0, open: [] }); }
    for (i = 0; i < n; i++) {
      var lane = lanes[o.lane[i]];
      if (o.t1[i] < 0) { lane.open.push(i); } else { lane.maxDur = Math.max(lane.maxDur, o.t1[i] - o.t0[i]); }
      lane.ids.push(i);
    }
    for (i = 0; i < lanes.length; i++) {
      lanes[i].ids.sort(function (a, b) { return o.t0[a] - o.t0[b]; });
      lanes[i].starts = lanes[i].ids.map(function (id) { return o.t0[id]; });
    }
    this.lanes = lanes;
  };

  Timeline.prototype.end = function (i) { return this.ops.t1[i] < 0 ? this.data.end : this.ops.t1[i]; };

  Timeline.prototype.bind = function () {
    var self = this, c = this.canvas, drag = null;
    window.addEventListener("resize", function () { self.resize(); });
    c.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var t = self.timeAt(ev.offsetX), k = ev.deltaY > 0 ? 1.25 : 0.8;
      self.setView(t - (t - self.view[0]) * k, t + (self.view[1] - t) * k);
    }, { passive: false });
    c.addEventListener("mousedown", function (ev) { drag = { x: ev.clientX, v: self.view.slice() }; });
    window.addEventListener("mouseup", function () { drag = null; });
    window.addEventListener("mousemove", function (ev) {
      if (!drag) { return; }
      var dt = (ev.clientX - drag.x) * (drag.v[1] - drag.v[0]) / self.plotWidth();
      self.setView(drag.v[0] - dt, drag.v[1] - dt);
    });
    c.addEventListener("mousemove", function (ev) { if (!drag) { self.hover(ev.offsetX, ev.offsetY); } });
    c.addEventListener("mouseleave", function () { self.tip.hidden = true; });
    c.addEventListener("dblclick", function () { self.setView(self.full[0], self.full[1]); });
    var buttons = this.root.querySelectorAll("button[data-act]");
    for (var b = 0; b < buttons.length; b++) {
      buttons[b].addEventListener("click", function (ev) { self.act(ev.currentTarget.getAttribute("data-act")); });
    }
  };

  Timeline.prototype.act = function (what) {
    var mid = (this.view[0] + this.view[1]) / 2, half = (this.view[1] - this.view[0]) / 2;
    if (what === "in") { this.setView(mid - half / 2, mid + half / 2); }
    if (what === "out") { this.setView(mid - half * 2, mid + half * 2); }
    if (what === "reset") { this.setView(this.full[0], this.full[1]); }
    if (what === "error") { this.jumpToError(); }
  };

  Timeline.prototype.jumpToError = function () {
    var i = this.focusOp >= 0 ? this.focusOp : (this.data.highlight.length ? this.data.highlight[0] : -1);
    if (i < 0) { return false; }
    this.focusOp = i;
    this.zoomTo(i);
    this.root.scrollIntoView({ block: "start" });
    return true;
  };

  /* Zoom so that op `id` (position in the columns) fills about a seventh of the width. */
  Timeline.prototype.zoomTo = function (id) {
    var a = this.ops.t0[id], b = this.end(id), pad = Math.max((b - a) * 3, 2000);
    this.setView(a - pad, b + pad);
  };

  /* Zoom to the op with history index `index` (invocation or completion); false if there is none. */
  Timeline.prototype.show = function (index) {
    var id = this.find(index);
    if (id >= 0) { this.zoomTo(id); }
    return id >= 0;
  };

  Timeline.prototype.find = function (index) {
    for (var id = 0; id < this.data.count; id++) {
      if (this.ops.i[id] === index || this.ops.c[id] === index) { return id; }
    }
    return -1;
  };

  Timeline.prototype.setView = function (a, b) {
    var minSpan = 50, lo = this.full[0], hi = this.full[1];
    if (b - a < minSpan) { var m = (a + b) / 2; a = m - minSpan / 2; b = m + minSpan / 2; }
    if (b - a >= hi - lo) { a = lo; b = hi; }  // never wider than the whole run, never before its start
    if (a < lo) { b += lo - a; a = lo; }
    if (b > hi) { a -= b - hi; b = hi; }
    this.view = [a, b];
    this.draw();
  };

  Timeline.prototype.plotWidth = function () { return Math.max(10, this.width - LEFT - 8); };
  Timeline.prototype.x = function (t) { return LEFT + (t - this.view[0]) / (this.view[1] - this.view[0]) * this.plotWidth(); };
  Timeline.prototype.timeAt = function (px) { return this.view[0] + (px - LEFT) / this.plotWidth() * (this.view[1] - this.view[0]); };

  Timeline.prototype.resize = function () {
    var dpr = window.devicePixelRatio || 1;
    this.width = Math.max(300, this.root.clientWidth);
    this.canvas.width = Math.floor(this.width * dpr);
    this.canvas.height = Math.floor(this.height * dpr);
    this.canvas.style.width = this.width + "px";
    this.canvas.style.height = this.height + "px";
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.draw();
  };

  Timeline.prototype.lowerBound = function (arr, t) {
    var lo = 0, hi = arr.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] < t) { lo = mid + 1; } else { hi = mid; } }
    return lo;
  };

  Timeline.prototype.draw = function () {
    var ctx = this.ctx, o = this.ops, d = this.data, self = this, i, L;
    var started = performance.now();
    ctx.clearRect(0, 0, this.width, this.height);
    var bottom = TOP + d.lanes.length * this.rowH;
    // fault bands
    for (i = 0; i < d.bands.length; i++) {
      var band = d.bands[i], x0 = Math.max(LEFT, this.x(band.start)), x1 = Math.min(this.width, this.x(band.end));
      if (x1 < LEFT || x0 > this.width) { continue; }
      ctx.fillStyle = band.color.replace(/[\d.]+\)$/, "0.8)");
      ctx.fillRect(x0, 2, Math.max(2, x1 - x0), 6);
      ctx.fillStyle = band.color;
      ctx.fillRect(x0, TOP, Math.max(2, x1 - x0), bottom - TOP);
    }
    // axis
    var span = this.view[1] - this.view[0], step = niceStep(span, Math.max(2, this.plotWidth() / 110));
    ctx.fillStyle = "#555"; ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
    ctx.strokeStyle = "#e6e6e6"; ctx.lineWidth = 1;
    for (var t = Math.ceil(this.view[0] / step) * step; t <= this.view[1]; t += step) {
      var tx = Math.round(this.x(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(tx, TOP - 4); ctx.lineTo(tx, bottom); ctx.stroke();
      ctx.fillText(fmtSeconds(t, step), tx + 3, TOP - 12);
    }
    // lane labels
    ctx.textAlign = "right";
    var labelEvery = Math.ceil(11 / this.rowH);
    for (L = 0; L < d.lanes.length; L += labelEvery) {
      ctx.fillText(d.lanes[L], LEFT - 6, TOP + L * this.rowH + this.rowH / 2);
    }
    ctx.textAlign = "left";
    // Ops, batched by colour. Where a lane has more ops in view than pixels, single bars would paint
    // over each other (whichever colour is drawn last wins), so each pixel column instead shows the
    // share of ok / fail / info ops overlapping it, stacked.
    var paths = [new Path2D(), new Path2D(), new Path2D()], outlined = [];
    var h = Math.max(2, this.rowH - 2), W = Math.ceil(this.width);
    for (L = 0; L < this.lanes.length; L++) {
      var lane = this.lanes[L], y = TOP + L * this.rowH + 1, visible = [];
      var from = this.lowerBound(lane.starts, this.view[0] - lane.maxDur);
      for (i = from; i < lane.ids.length && lane.starts[i] <= this.view[1]; i++) {
        if (o.t1[lane.ids[i]] >= 0) { visible.push(lane.ids[i]); }
      }
      for (i = 0; i < lane.open.length; i++) { visible.push(lane.open[i]); }
      var binned = visible.length > this.plotWidth() * 0.4, counts = binned ? [new Float32Array(W), new Float32Array(W), new Float32Array(W)] : null;
      for (i = 0; i < visible.length; i++) {
        var id = visible[i], a = this.x(o.t0[id]), b = this.x(this.end(id)), ty = o.ty[id];
        if (b < LEFT || a > this.width) { continue; }
        a = Math.max(a, LEFT);
        b = Math.min(b, this.width);
        var w = Math.max(1, b - a);
        if (this.highlight[id] || id === this.focusOp) { outlined.push([a, y, w, h, id]); }
        if (!binned) { paths[ty].rect(a, y, w, h); continue; }
        for (var px = Math.floor(a); px <= Math.min(W - 1, Math.floor(a + w - 0.01)); px++) { counts[ty][px] += 1; }
      }
      if (!binned) { continue; }
      for (var col = LEFT; col < W; col++) {
        var total = counts[0][col] + counts[1][col] + counts[2][col];
        if (!total) { continue; }
        var yy = y;
        for (var t = 0; t < 3; t++) {
          if (!counts[t][col]) { continue; }
          var hh = h * counts[t][col] / total;
          paths[t].rect(col, yy, 1, hh);
          yy += hh;
        }
      }
    }
    for (i = 0; i < 3; i++) { ctx.fillStyle = COLORS[i]; ctx.fill(paths[i]); }
    for (i = 0; i < outlined.length; i++) {
      var r = outlined[i];
      ctx.lineWidth = r[4] === this.focusOp ? 3 : 2;
      ctx.strokeStyle = r[4] === this.focusOp ? "#000" : "#6a1b9a";
      ctx.strokeRect(r[0] - 1, r[1] - 1, Math.max(r[2], 3) + 2, r[3] + 2);
    }
    this.lastDrawMs = performance.now() - started;
    if (this.status) {
      this.status.textContent = d.count + " ops · showing " + fmtSeconds(Math.max(0, this.view[0])) + " – " +
        fmtSeconds(this.view[1]) + " · drawn in " + this.lastDrawMs.toFixed(1) + " ms";
    }
  };

  Timeline.prototype.opAt = function (px, py) {
    var L = Math.floor((py - TOP) / this.rowH);
    if (L < 0 || L >= this.lanes.length) { return -1; }
    var lane = this.lanes[L], t = this.timeAt(px), tol = 2 * (this.view[1] - this.view[0]) / this.plotWidth();
    // an op that really spans the pointer wins over one that is merely within a pixel or two of it
    var best = -1, near = -1, i = this.lowerBound(lane.starts, t + tol + 1) - 1;
    for (; i >= 0 && lane.starts[i] >= t - lane.maxDur - tol; i--) {
      var id = lane.ids[i];
      if (this.ops.t1[id] < 0) { continue; }
      if (this.ops.t0[id] <= t && this.end(id) >= t) { best = id; break; }
      if (near < 0 && this.ops.t0[id] - tol <= t && this.end(id) + tol >= t) { near = id; }
    }
    if (best < 0) { best = near; }
    for (i = 0; best < 0 && i < lane.open.length; i++) {
      if (this.ops.t0[lane.open[i]] - tol <= t) { best = lane.open[i]; }
    }
    return best;
  };

  Timeline.prototype.describe = function (id) {
    var o = this.ops, d = this.data, lines = [];
    var ty = d.types[o.ty[id]], done = o.t1[id] >= 0;
    lines.push(d.fs[o.f[id]] + " " + show(o.v[id]) + "  →  " + ty + (o.r[id] !== null ? " " + show(o.r[id]) : ""));
    lines.push("process " + o.p[id] + (d.lanes[o.lane[id]] !== "process " + o.p[id] ? " (" + d.lanes[o.lane[id]] + ")" : "") +
      (o.n[id] >= 0 ? " on " + d.nodes[o.n[id]] : ""));
    lines.push("invoked " + fmtSeconds(o.t0[id]) + (done ? ", completed " + fmtSeconds(o.t1[id]) +
      " (" + ((o.t1[id] - o.t0[id]) / 1000).toFixed(2) + " ms)" : ", never completed"));
    lines.push("history index " + o.i[id] + (o.c[id] >= 0 ? " / " + o.c[id] : ""));
    if (o.e[id] !== null) { lines.push("error " + show(o.e[id])); }
    if (this.highlight[id]) { lines.push("named by the checker"); }
    return lines.join("\n");
  };

  Timeline.prototype.bandAt = function (px) {
    var t = this.timeAt(px), tol = 3 * (this.view[1] - this.view[0]) / this.plotWidth(), out = [];
    for (var i = 0; i < this.data.bands.length; i++) {
      var b = this.data.bands[i];
      if (b.start - tol <= t && b.end + tol >= t) { out.push(b.kind + ": " + b.label); }
    }
    return out;
  };

  Timeline.prototype.hover = function (px, py) {
    var id = this.opAt(px, py), text = id >= 0 ? this.describe(id) : "";
    var faults = px >= LEFT ? this.bandAt(px) : [];
    if (faults.length) { text += (text ? "\n\nduring " : "") + faults.join("\n"); }
    if (!text) { this.tip.hidden = true; return; }
    this.tip.textContent = text;
    this.tip.hidden = false;
    this.tip.setAttribute("data-op", id >= 0 ? String(this.ops.i[id]) : "");
    var left = px + 14, top = py + 14;
    if (left + this.tip.offsetWidth > this.width) { left = Math.max(0, px - this.tip.offsetWidth - 10); }
    this.tip.style.left = left + "px";
    this.tip.style.top = top + "px";
  };

  /* Where the op with history index `index` is drawn, in page (client) coordinates; null if hidden. */
  Timeline.prototype.opPoint = function (index) {
    var id = this.find(index);
    if (id >= 0) {
      var rect = this.canvas.getBoundingClientRect();
      var a = Math.max(this.x(this.ops.t0[id]), LEFT), b = Math.min(this.x(this.end(id)), this.width - 8);
      if (b < LEFT || a > this.width) { return null; }
      return { x: rect.left + (a + Math.max(b, a + 1)) / 2, y: rect.top + TOP + this.ops.lane[id] * this.rowH + this.rowH / 2 };
    }
    return null;
  };

  var instances = [];
  function init() {
    var roots = document.querySelectorAll(".timeline[data-source]");
    for (var r = 0; r < roots.length; r++) {
      var src = document.getElementById(roots[r].getAttribute("data-source"));
      if (!src) { continue; }
      var started = performance.now();
      var tl = new Timeline(roots[r], JSON.parse(src.textContent));
      tl.initMs = performance.now() - started;
      instances.push(tl);
    }
    var jumps = document.querySelectorAll("[data-jump-error]");
    for (var j = 0; j < jumps.length; j++) {
      jumps[j].addEventListener("click", function (ev) {
        ev.preventDefault();
        if (instances.length) { instances[0].jumpToError(); }
      });
    }
  }
  window.SplitbrainTimeline = { instances: instances, init: init };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
