/* splitbrain report helpers: draw the plotly figures embedded as JSON, and filter the store index.
 * Figures and rows carry values from histories and specs; they are only ever handed to plotly as data
 * or compared as text, never inserted as HTML.
 */
(function () {
  "use strict";

  // One plot per task, after the page (and its timeline) is up, so a large run stays responsive.
  function drawPlots() {
    var sources = document.querySelectorAll("script[type='application/json'][data-plot]"), i = 0;
    window.SplitbrainPlots = { drawn: 0, total: sources.length };
    function next() {
      if (i >= sources.length) { return; }
      var src = sources[i++], target = document.getElementById(src.getAttribute("data-plot"));
      if (target && typeof window.Plotly === "undefined" && window.SplitbrainMiniplot) {
        // plotly.js did not load (a report copied out of its store): a static picture of the same figure
        var note = document.createElement("p");
        note.className = "plot-note";
        note.textContent = "plotly.js could not be loaded (was this report moved out of its store?): " +
          "a simplified static plot is shown.";
        target.appendChild(note);
        window.SplitbrainMiniplot.draw(target, JSON.parse(src.textContent));
        target.className += " fallback";
      } else if (target && typeof window.Plotly === "undefined") {
        target.textContent = "plotly.js is not available, so this plot is not drawn.";
        target.className += " missing";
      } else if (target) {
        var fig = JSON.parse(src.textContent);
        window.Plotly.newPlot(target, fig.data, fig.layout, { responsive: true, displaylogo: false });
      }
      window.SplitbrainPlots.drawn = i;
      setTimeout(next, 0);
    }
    setTimeout(next, 0);
  }

  function filterIndex() {
    var box = document.getElementById("run-filter"), verdict = document.getElementById("verdict-filter");
    var table = document.getElementById("runs");
    if (!box || !verdict || !table) { return; }
    var count = document.getElementById("run-count");
    function apply() {
      var words = box.value.toLowerCase().split(/\s+/).filter(Boolean), want = verdict.value, shown = 0;
      var rows = table.tBodies[0].rows;
      for (var r = 0; r < rows.length; r++) {
        var text = rows[r].textContent.toLowerCase(), ok = !want || rows[r].getAttribute("data-verdict") === want;
        for (var w = 0; ok && w < words.length; w++) { ok = text.indexOf(words[w]) >= 0; }
        rows[r].hidden = !ok;
        if (ok) { shown++; }
      }
      if (count) { count.textContent = shown + " of " + rows.length + " runs"; }
    }
    box.addEventListener("input", apply);
    verdict.addEventListener("change", apply);
    apply();
  }

  // plotly.js (~5 MB) is fetched after the page is up: the verdict and timeline must not wait for it
  function loadPlotly() {
    var ref = document.getElementById("plotly-src");
    if (typeof window.Plotly !== "undefined" || !ref) { drawPlots(); return; }
    var script = document.createElement("script");
    script.src = ref.getAttribute("data-src");
    script.onload = drawPlots;
    script.onerror = drawPlots;  // draws the "not available" notes
    document.head.appendChild(script);
  }

  function init() { filterIndex(); setTimeout(loadPlotly, 0); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
