/* splitbrain miniplot: draws the report's plotly figure documents as plain static SVG when plotly.js
 * cannot be loaded (a report copied out of its store loses the shared ../../_assets/plotly.min.js).
 * It understands only what reports/plots.py emits: scatter traces (markers, lines, stackgroup), a linear
 * or log y axis, rect shapes for fault bands, titles and a legend. No zoom, no hover: a picture, so that
 * a copied report still shows its data. Every label is set with textContent (values come from histories).
 */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function text(parent, x, y, s, attrs) {
    var t = el("text", attrs || {}, parent);
    t.setAttribute("x", x); t.setAttribute("y", y);
    t.textContent = s;
    return t;
  }

  function niceTicks(lo, hi, n) {
    var span = hi - lo || 1, raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (m) { return m * mag; }).filter(function (s) { return s >= raw; })[0];
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) { out.push(+v.toPrecision(12)); }
    return out;
  }

  // log axis ticks (in log10 units): the powers of ten, and 2x and 5x too when the range is under two decades
  function logTicks(lo, hi) {
    var out = [], steps = hi - lo < 2 ? [1, 2, 5] : [1];
    for (var d = Math.floor(lo); d <= Math.ceil(hi); d++) {
      steps.forEach(function (m) { var v = d + Math.log10(m); if (v >= lo && v <= hi) { out.push(v); } });
    }
    return out;
  }

  function fmt(v) { return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(0) : String(v); }

  function draw(target, fig) {
    var layout = fig.layout || {}, data = fig.data || [];
    var W = Math.max(target.clientWidth || 0, 480), H = layout.height || 340;
    var m = layout.margin || {}, L = m.l || 60, R = m.r || 20, T = m.t || 40, B = 80;
    var logY = layout.yaxis && layout.yaxis.type === "log";
    var ty = function (v) { return logY ? (v > 0 ? Math.log10(v) : null) : v; };
    // stacked traces: add each y to the running sum of its stackgroup, per x
    var stacks = {}, series = data.map(function (tr, i) {
      var xs = tr.x || [], ys = (tr.y || []).slice(), base = null;
      if (tr.stackgroup) {
        var acc = stacks[tr.stackgroup] = stacks[tr.stackgroup] || {};
        base = xs.map(function (x) { return acc[x] || 0; });
        ys = ys.map(function (y, j) { return (acc[xs[j]] = (acc[xs[j]] || 0) + (+y || 0)); });
      }
      var color = (tr.marker && typeof tr.marker.color === "string" && tr.marker.color) ||
        (tr.line && tr.line.color) || PALETTE[i % PALETTE.length];
      return { tr: tr, xs: xs, ys: ys, base: base, color: color };
    });
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    series.forEach(function (s) {
      s.xs.forEach(function (x, j) {
        var y = ty(s.ys[j]);
        if (typeof x !== "number" || y === null || !isFinite(y)) { return; }
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      });
      if (s.base) { y0 = Math.min(y0, 0); }
    });
    (layout.shapes || []).forEach(function (sh) { x0 = Math.min(x0, sh.x0); x1 = Math.max(x1, sh.x1); });
    if (!isFinite(x0)) { x0 = 0; x1 = 1; }
    if (!isFinite(y0)) { y0 = 0; y1 = 1; }
    if (x1 === x0) { x1 = x0 + 1; }
    if (y1 === y0) { y1 = y0 + 1; }
    var pad = (y1 - y0) * 0.05; y0 -= logY ? pad : Math.min(pad, Math.abs(y0) < 1e-12 ? 0 : pad); y1 += pad;
    var pw = W - L - R, ph = H - T - B;
    var sx = function (x) { return L + (x - x0) / (x1 - x0) * pw; };
    var sy = function (y) { return T + ph - (y - y0) / (y1 - y0) * ph; };
    var svg = el("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "miniplot",
                          "font-family": "sans-serif", "font-size": "11" });
    var clipId = "clip-" + target.id;
    el("rect", { x: L, y: T, width: pw, height: ph }, el("clipPath", { id: clipId }, el("defs", {}, svg)));
    el("rect", { x: L, y: T, width: pw, height: ph, fill: "#fff", stroke: "#ccc" }, svg);
    var plot = el("g", { "clip-path": "url(#" + clipId + ")" }, svg);
    (layout.shapes || []).forEach(function (sh) {
      if (sh.type !== "rect") { return; }
      el("rect", { x: sx(sh.x0), y: T, width: Math.max(sx(sh.x1) - sx(sh.x0), 1), height: ph,
                   fill: sh.fillcolor || "rgba(0,0,0,0.08)", "class": "band" }, plot);
    });
    niceTicks(x0, x1, 8).forEach(function (v) {
      el("line", { x1: sx(v), x2: sx(v), y1: T + ph, y2: T + ph + 4, stroke: "#888" }, svg);
      text(svg, sx(v), T + ph + 16, fmt(v), { "text-anchor": "middle" });
    });
    var yt = logY ? logTicks(y0, y1) : niceTicks(y0, y1, 6);
    yt.forEach(function (v) {
      if (v < y0 || v > y1) { return; }
      el("line", { x1: L, x2: L + pw, y1: sy(v), y2: sy(v), stroke: "#eee" }, svg);
      text(svg, L - 6, sy(v) + 4, fmt(logY ? +Math.pow(10, v).toPrecision(3) : v), { "text-anchor": "end" });
    });
    series.forEach(function (s) {
      var mode = s.tr.mode || "markers", pts = [];
      s.xs.forEach(function (x, j) {
        var y = ty(s.ys[j]);
        if (typeof x === "number" && y !== null && isFinite(y)) { pts.push([sx(x), sy(y), j]); }
      });
      if (mode.indexOf("lines") >= 0 && pts.length) {
        var d = pts.map(function (p, k) { return (k ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1); }).join("");
        if (s.base) {
          var back = pts.slice().reverse().map(function (p) {
            var b = ty(s.base[p[2]]);
            return "L" + p[0].toFixed(1) + " " + sy(b === null ? y0 : b).toFixed(1);
          }).join("");
          el("path", { d: d + back + "Z", fill: s.color, "fill-opacity": 0.35, stroke: "none" }, plot);
        }
        el("path", { d: d, fill: "none", stroke: s.color, "stroke-width": (s.tr.line && s.tr.line.width) || 1.5,
                     "stroke-dasharray": s.tr.line && s.tr.line.dash === "dot" ? "2 3" : "none" }, plot);
      }
      if (mode.indexOf("markers") >= 0) {
        var r = ((s.tr.marker && s.tr.marker.size) || 5) / 2;
        var g = el("g", { fill: s.color, "fill-opacity": (s.tr.marker && s.tr.marker.opacity) || 0.8 }, plot);
        pts.forEach(function (p) { el("circle", { cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: r }, g); });
      }
    });
    if (layout.title && layout.title.text) { text(svg, L, 20, layout.title.text, { "font-size": "14" }); }
    var xt = layout.xaxis && layout.xaxis.title && layout.xaxis.title.text;
    if (xt) { text(svg, L + pw / 2, T + ph + 32, xt, { "text-anchor": "middle" }); }
    var ytl = layout.yaxis && layout.yaxis.title && layout.yaxis.title.text;
    if (ytl) { text(svg, 14, T + ph / 2, ytl, { "text-anchor": "middle", transform: "rotate(-90 14 " + (T + ph / 2) + ")" }); }
    var lx = L, ly = T + ph + 52;
    series.forEach(function (s) {
      if (!s.tr.name) { return; }
      var w = 24 + 6.5 * String(s.tr.name).length;
      if (lx + w > W - R && lx > L) { lx = L; ly += 16; }
      el("rect", { x: lx, y: ly - 9, width: 10, height: 10, fill: s.color }, svg);
      text(svg, lx + 14, ly, s.tr.name, {});
      lx += w;
    });
    if (ly + 10 > H) { svg.setAttribute("height", ly + 10); svg.setAttribute("viewBox", "0 0 " + W + " " + (ly + 10)); }
    target.appendChild(svg);
  }

  window.SplitbrainMiniplot = { draw: draw };
})();
