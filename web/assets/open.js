// open.js draws the bar chart of each table on an open-data release page
// with the vendored ECharts: a frequency table's percents, or a cross-tab's
// groups as stacked bars of its choices. The tables stay the accessible
// source; a suppressed cell is a gap.
(function () {
  "use strict";
  if (!window.echarts) return;
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var d;
    try { d = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
    var legend = d.series.length > 1;
    el.style.height = Math.max(200, (legend ? 70 : 30) + 26 * d.categories.length) + "px";
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "x" : v.toFixed(1) + "%"; } },
      legend: { show: legend, type: "scroll", top: 0 },
      grid: { left: 8, right: 24, top: legend ? 36 : 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", max: d.stacked ? 100 : null, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", data: d.categories, inverse: true },
      series: d.series.map(function (s) {
        return { name: s.name, type: "bar", stack: d.stacked ? "all" : null, data: s.data };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
