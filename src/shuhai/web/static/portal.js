// 数海 portal behaviour: no inline script (the Content-Security-Policy allows only 'self').
// Pages hand data over in <script type="application/json" id="…"> blocks, which never run.
(function () {
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function floor(r) { return Math.max(0, Math.floor(r.min * 20) / 20); }

  var trend = data('trend-data');
  if (trend && window.echarts && trend.runs.length) {
    var dims = Object.keys(trend.runs[0]);
    echarts.init(document.getElementById('trend')).setOption({
      tooltip: {trigger: 'axis'}, legend: {top: 4},
      xAxis: {type: 'category', data: trend.versions.map(function (v) { return 'v' + v; })},
      yAxis: {type: 'value', min: floor, max: 1},
      series: dims.map(function (d) {
        return {name: d === 'overall' ? '综合' : d, type: 'line',
                data: trend.runs.map(function (r) { return r[d]; })};
      })
    });
  }

  var deps = data('ranking-data');
  if (deps && window.echarts) {
    echarts.init(document.getElementById('ranking')).setOption({
      grid: {left: 200, right: 40, top: 20, bottom: 20},
      xAxis: {type: 'value', min: floor, max: 1},
      yAxis: {type: 'category', inverse: true, data: deps.map(function (d) { return d.department; })},
      series: [{type: 'bar', data: deps.map(function (d) { return d.overall; }),
                label: {show: true, position: 'right',
                        formatter: function (p) { return (p.value * 100).toFixed(1) + '%'; }}}]
    });
  }

  // The open-data chart: ECharts (1 MB) is fetched only when the chart scrolls into view.
  function withEcharts(then) {
    if (window.echarts) { then(); return; }
    var s = document.createElement('script');
    s.src = '/static/echarts.min.js'; s.onload = then;
    document.head.appendChild(s);
  }
  var chart = document.getElementById('open-chart');
  function drawChart() {
    fetch(chart.dataset.src, {credentials: 'same-origin'}).then(function (r) { return r.json(); })
      .then(function (c) {
        if (!c.kind || !window.echarts) { chart.style.display = 'none'; return; }
        chart.setAttribute('aria-label', '图表 / chart: ' + c.measure + ' · ' + c.dimension);
        echarts.init(chart).setOption({
          tooltip: {trigger: 'axis'}, grid: {left: 60, right: 20, top: 30, bottom: 60},
          title: {text: c.measure + (c.dimension ? ' · ' + c.dimension : ''), textStyle: {fontSize: 13}},
          xAxis: {type: 'category', data: c.x, axisLabel: {rotate: c.x.length > 8 ? 40 : 0}},
          yAxis: {type: 'value'},
          series: [{type: c.kind, data: c.y, smooth: c.kind === 'line'}]
        });
      }).catch(function () { chart.style.display = 'none'; });
  }
  if (chart && window.fetch) {
    if ('IntersectionObserver' in window) {
      var seen = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) {
          seen.disconnect(); withEcharts(drawChart);
        }
      });
      seen.observe(chart);
    } else { withEcharts(drawChart); }
  }

  // the navigation folds into a menu button on narrow screens
  var menu = document.querySelector('header .menu'), nav = document.getElementById('main-nav');
  if (menu && nav) {
    menu.addEventListener('click', function () {
      var open = nav.classList.toggle('open');
      menu.setAttribute('aria-expanded', open ? 'true' : 'false');
    });
  }

  var select = document.getElementById('apply-resource');
  if (select) {
    select.addEventListener('change', function (e) {
      var opt = e.target.selectedOptions[0], box = document.getElementById('apply-items');
      box.textContent = '';
      opt.dataset.items.split('|').forEach(function (name) {
        var label = document.createElement('label'), input = document.createElement('input');
        input.type = 'checkbox'; input.name = 'items'; input.value = name;
        label.appendChild(input); label.appendChild(document.createTextNode(' ' + name + ' '));
        box.appendChild(label);
      });
    });
  }
})();
