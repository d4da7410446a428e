// Renders every Plotly figure whose JSON the server put beside its div, on load and after each HTMX swap.
(function () {
  "use strict";
  var CONFIG = { topojsonURL: "/static/", responsive: true, displaylogo: false,
                 modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  function draw(root) {
    if (!window.Plotly) { return; }
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var spec = document.getElementById(el.dataset.figure);
      if (!spec) { return; }
      var fig = JSON.parse(spec.textContent);
      el.dataset.drawn = "1";
      Plotly.newPlot(el, fig.data, fig.layout, CONFIG);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (evt) { draw(evt.target); });
})();
