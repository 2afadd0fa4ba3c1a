// govsurvey console, analysis page: a bar chart of each table's percents,
// drawn with the vendored ECharts from the JSON the server put in
// data-chart. The tables above the charts hold every number; the charts
// are an aid, and without ECharts the page simply has none.
(function () {
  'use strict';
  if (!window.echarts) { return; }
  var palette = ['#0b4f8a', '#e07b00', '#1b7f3b', '#b00020', '#6a3d9a', '#555555'];
  Array.prototype.forEach.call(document.querySelectorAll('.chart[data-chart]'), function (el) {
    var d;
    try { d = JSON.parse(el.getAttribute('data-chart')); } catch (e) { return; }
    el.style.width = '100%';
    el.style.height = (80 + d.categories.length * (18 + 14 * d.series.length)) + 'px';
    var chart = window.echarts.init(el, null, { renderer: 'svg' });
    chart.setOption({
      animation: false,
      color: palette,
      grid: { left: 8, right: 40, top: d.series.length > 1 ? 36 : 8, bottom: 8, containLabel: true },
      legend: d.series.length > 1 ? { top: 0, type: 'scroll' } : undefined,
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: function (v) { return v == null ? '–' : v + '%'; } },
      xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      yAxis: { type: 'category', inverse: true, data: d.categories, axisLabel: { width: 110, overflow: 'break' } },
      series: d.series.map(function (s) {
        return { type: 'bar', name: s.name, data: s.data, label: { show: true, position: 'right', formatter: '{c}%' } };
      })
    });
    window.addEventListener('resize', function () { chart.resize(); });
  });
}());
