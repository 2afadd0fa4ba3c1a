// govsurvey console: the collection page's live numbers, polled from
// /api/v1/forms/{id}/progress, and the preview's submit, stopped here.
(function () {
  'use strict';
  function $(id) { return document.getElementById(id); }
  function setText(id, v) { var e = $(id); if (e && e.textContent !== String(v)) e.textContent = String(v); }

  function drawHourly(hours) {
    var svg = $('hourly');
    if (!svg || !hours) return;
    var rects = svg.querySelectorAll('rect');
    var top = 1, i;
    for (i = 0; i < hours.length; i++) top = Math.max(top, hours[i].n);
    var h = 100;
    for (i = 0; i < hours.length && i < rects.length; i++) {
      var bh = Math.floor(hours[i].n * h / top);
      rects[i].setAttribute('y', String(h - bh));
      rects[i].setAttribute('height', String(bh));
      var t = rects[i].querySelector('title');
      if (t) t.textContent = hours[i].label + ': ' + hours[i].n;
    }
    var cells = document.querySelectorAll('#hourly-table tbody tr');
    for (i = 0; i < hours.length && i < cells.length; i++) {
      cells[i].cells[0].textContent = hours[i].label;
      cells[i].cells[1].textContent = String(hours[i].n);
    }
  }

  function drawProvinces(list) {
    var ol = $('provinces');
    if (!ol || !list) return;
    while (ol.firstChild) ol.removeChild(ol.firstChild);
    if (!list.length) {
      var none = document.createElement('li');
      none.className = 'meta';
      none.textContent = ol.getAttribute('data-none');
      ol.appendChild(none);
      return;
    }
    list.forEach(function (p) {
      var li = document.createElement('li');
      var l = document.createElement('span'); l.className = 'rl'; l.textContent = p.label;
      var m = document.createElement('meter');
      m.min = 0; m.max = 100; m.value = p.pct; m.setAttribute('aria-label', p.label); m.textContent = String(p.n);
      var n = document.createElement('span'); n.className = 'rn'; n.textContent = String(p.n);
      li.appendChild(l); li.appendChild(m); li.appendChild(n);
      ol.appendChild(li);
    });
  }

  // Invitations and quotas (console_admission.go): the counts, and each
  // quota's row by its place in the settings.
  function drawInvitations(inv) {
    setText('inv-total', inv.total);
    setText('inv-used', inv.used);
    setText('inv-unused', inv.unused);
  }
  function drawQuotas(list) {
    list.forEach(function (q, i) {
      setText('quota-taken-' + i, q.taken);
      setText('quota-left-' + i, q.remaining);
      var m = $('quota-meter-' + i);
      if (m) { m.value = q.pct; m.textContent = q.pct + '%'; }
    });
  }

  var live = $('progress-live');
  if (live) {
    var url = live.getAttribute('data-url');
    var every = parseInt(live.getAttribute('data-interval'), 10) || 5000;
    var wait = every;
    var tick = function () {
      if (document.hidden) { setTimeout(tick, every); return; }
      fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store' })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (p) {
          setText('total', p.total);
          setText('today', p.today);
          setText('median', p.median_text);
          setText('timed', p.timed);
          setText('completion', p.completion_text);
          setText('completion-note', p.completion_note);
          setText('updated', p.updated_text);
          drawHourly(p.hourly);
          if (p.has_province) drawProvinces(p.provinces);
          if (p.invitations) drawInvitations(p.invitations);
          if (p.quotas) drawQuotas(p.quotas);
          live.setAttribute('data-polls', String((parseInt(live.getAttribute('data-polls'), 10) || 0) + 1));
          wait = every;
        })
        .catch(function () { wait = Math.min(wait * 2, 60000); }) // logged out or offline: slow down
        .then(function () { setTimeout(tick, wait); });
    };
    setTimeout(tick, every);
  }

  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); });
  }

  // The reports page: while a build is queued or running, its stages are
  // polled and listed; when it ends the page reloads to list the files.
  var job = $('report-job');
  if (job && (job.getAttribute('data-state') === 'queued' || job.getAttribute('data-state') === 'running')) {
    var jurl = job.getAttribute('data-url');
    var jevery = parseInt(job.getAttribute('data-interval'), 10) || 1000;
    var jtick = function () {
      getJSON(jurl).then(function (st) {
        var ol = $('job-stages');
        if (ol && st.stages) {
          for (var i = ol.children.length; i < st.stages.length; i++) {
            var li = document.createElement('li'); li.textContent = st.stages[i]; ol.appendChild(li);
          }
        }
        if (st.state === 'queued' || st.state === 'running') { setTimeout(jtick, jevery); return; }
        var u = new URL(location.href); // reload without the "started" notice
        u.searchParams.delete('started');
        location.replace(u.toString());
      }).catch(function () { setTimeout(jtick, jevery * 5); });
    };
    setTimeout(jtick, jevery);
  }

  // The live dashboard: the report's charts, drawn with the app's own
  // ECharts (/console/assets/echarts.js) from the options the server
  // computes, redrawn when an option changes.
  var dash = $('dashboard');
  if (dash && window.echarts) {
    var durl = dash.getAttribute('data-url');
    var devery = parseInt(dash.getAttribute('data-interval'), 10) || 10000;
    var box = $('dash-figures');
    var shown = {}; // figure id -> {el, chart, option}
    var draw = function (d) {
      var seen = {};
      setText('dash-basis', d.basis_text + ' ' + d.valid + ' ' + dash.getAttribute('data-valid') + ' / ' + d.collected);
      setText('dash-updated', d.computed_text);
      var none = $('dash-none');
      if (!d.figures.length && !none) {
        none = document.createElement('p'); none.id = 'dash-none'; none.className = 'meta';
        none.textContent = dash.getAttribute('data-none'); box.appendChild(none);
      } else if (d.figures.length && none) {
        none.parentNode.removeChild(none);
      }
      d.figures.forEach(function (f) {
        seen[f.id] = true;
        var opt = JSON.stringify(f.option);
        var s = shown[f.id];
        if (!s) {
          var fig = document.createElement('figure'); fig.className = 'dash'; fig.id = 'dash-' + f.id;
          var cap = document.createElement('figcaption'); cap.textContent = f.caption;
          var el = document.createElement('div'); el.className = f.tall ? 'echart tall' : 'echart';
          el.setAttribute('role', 'img'); el.setAttribute('aria-label', f.caption);
          fig.appendChild(cap); fig.appendChild(el); box.appendChild(fig);
          s = shown[f.id] = { fig: fig, chart: echarts.init(el, null, { renderer: 'canvas' }), option: '' };
        } else {
          box.appendChild(s.fig); // keep the report's order
        }
        if (s.option !== opt) { s.chart.setOption(f.option, true); s.option = opt; }
      });
      Object.keys(shown).forEach(function (id) {
        if (seen[id]) return;
        shown[id].chart.dispose();
        shown[id].fig.parentNode.removeChild(shown[id].fig);
        delete shown[id];
      });
      dash.setAttribute('data-polls', String((parseInt(dash.getAttribute('data-polls'), 10) || 0) + 1));
    };
    var dwait = devery;
    var dtick = function () {
      if (document.hidden) { setTimeout(dtick, devery); return; }
      getJSON(durl).then(function (d) { draw(d); dwait = devery; })
        .catch(function () { dwait = Math.min(dwait * 2, 60000); })
        .then(function () { setTimeout(dtick, dwait); });
    };
    dtick();
    window.addEventListener('resize', function () {
      Object.keys(shown).forEach(function (id) { shown[id].chart.resize(); });
    });
  }

  // The preview: the respondent form, but nothing may be submitted. The
  // window sees the submit event first (capture) and stops it before
  // form.js can send anything.
  var survey = $('survey');
  if (survey && survey.hasAttribute('data-preview')) {
    var msg = survey.getAttribute('data-preview');
    window.addEventListener('submit', function (ev) {
      if (ev.target !== survey) return;
      ev.preventDefault();
      ev.stopImmediatePropagation();
      setText('status', msg);
    }, true);
  }
})();
