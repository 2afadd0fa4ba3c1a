// form.js runs govsurvey's respondent web form: one page at a time, with
// relevance, required, constraint and choice_filter evaluated by expr.js
// on the expression trees the server sent (data-spec) - the same trees the
// server checks the submission with, so both agree. Answers are kept in
// sessionStorage while the form is filled, so a reload or a change of
// language loses nothing; nothing leaves the browser before Submit.
(function () {
  'use strict';
  var form = document.getElementById('survey');
  if (!form || !window.GovExpr || !window.fetch) return;
  var E = window.GovExpr;
  var spec = JSON.parse(form.getAttribute('data-spec'));
  var M = spec.msg;
  var KEY = 'govsurvey:' + spec.form;
  var $ = function (id) { return document.getElementById(id); };
  var has = function (o, k) { return Object.prototype.hasOwnProperty.call(o, k); };

  // A version 7 UUID (RFC 9562): the time in milliseconds, then random
  // bits. Made when the respondent first presses submit, so that ids reach
  // the server nearly in order and the store's unique index grows at its
  // end instead of being written all over.
  function uuid() {
    var b = new Uint8Array(16), h = [], t = Date.now();
    crypto.getRandomValues(b);
    for (var i = 5; i >= 0; i--) { b[i] = t % 256; t = Math.floor(t / 256); }
    b[6] = (b[6] & 15) | 112; b[8] = (b[8] & 63) | 128;
    for (i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1));
    h = h.join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }
  function load() { try { return JSON.parse(sessionStorage.getItem(KEY)); } catch (e) { return null; } }
  function save() { try { sessionStorage.setItem(KEY, JSON.stringify(st)); } catch (e) { /* private mode: no draft */ } }

  var st = load();
  if (!st || st.rev !== spec.revision) st = { rev: spec.revision, answers: {}, times: {}, visits: [] };
  // The invitation token (t= of the link) travels with the submission; kept
  // in the draft, and in the language switch, so that a switch keeps it.
  var tokenEl = $('invitation-token');
  if (tokenEl && tokenEl.value) st.token = tokenEl.value;
  if (st.token && $('lang-switch')) $('lang-switch').href += '&t=' + encodeURIComponent(st.token);

  // --- reading and writing answers in the page
  function inputs(name) { return form.querySelectorAll('[name="' + name + '"]'); }
  function read(name) {
    var els = inputs(name), out = [], i;
    if (!els.length) return '';
    if (els[0].type === 'radio') { for (i = 0; i < els.length; i++) if (els[i].checked) return els[i].value; return ''; }
    if (els[0].type === 'checkbox') {
      for (i = 0; i < els.length; i++) if (els[i].checked) out.push(els[i].value);
      return spec.items[name].t === 'acknowledge' ? out.join('') : out;
    }
    return els[0].value.trim();
  }
  function write(name, v) {
    var els = inputs(name), i;
    if (!els.length) return;
    if (els[0].type === 'radio' || els[0].type === 'checkbox') {
      var set = Array.isArray(v) ? v : [v];
      for (i = 0; i < els.length; i++) els[i].checked = set.indexOf(els[i].value) >= 0;
    } else els[0].value = v;
  }
  function empty(v) { return v === '' || v === undefined || (Array.isArray(v) && !v.length); }

  // --- evaluation, in sheet order, as collect.Validate does
  var vals = {}, rel = {};
  function env(cur, choice) {
    var e = {
      value: function (n) { return has(vals, n) ? vals[n] : undefined; },
      current: function () { return cur; },
      now: function () { return new Date(); }
    };
    if (choice) {
      e.path = function (p) {
        var c = p.split('/').pop();
        if (c === 'name') return choice.name;
        return choice.cols && has(choice.cols, c) ? choice.cols[c] : undefined;
      };
    }
    return e;
  }
  function evaluate() {
    var names = spec.order, i, n, it, r;
    vals = {}; rel = {};
    for (i = 0; i < names.length; i++) { it = spec.items[names[i]]; if (it.f) vals[names[i]] = read(names[i]); }
    for (i = 0; i < names.length; i++) {
      n = names[i]; it = spec.items[n];
      r = !it.p || rel[it.p];
      if (r && it.rel) r = E.evalBool(it.rel, env(''));
      rel[n] = r;
      if (!it.f) continue;
      if (it.t === 'calculate') { vals[n] = r && it.calc ? E.evalString(it.calc, env('')) : ''; continue; }
      if (!r) { vals[n] = ''; continue; }
      if (it.cf) filterChoices(n, it);
    }
    for (n in rel) {
      var el = form.querySelector('[data-item="' + n + '"]');
      if (el) el.hidden = !rel[n];
    }
  }
  function filterChoices(n, it) {
    var els = form.querySelectorAll('[data-item="' + n + '"] [data-choice]'), changed = false;
    for (var j = 0; j < els.length; j++) {
      var name = els[j].getAttribute('data-choice');
      var ok = E.evalBool(it.cf, env('', { name: name, cols: it.cols && it.cols[name] }));
      els[j].hidden = !ok;
      var input = els[j].tagName === 'OPTION' ? els[j] : els[j].querySelector('input');
      if (!ok && (input.checked || input.selected)) { input.checked = false; input.selected = false; changed = true; }
    }
    if (changed) vals[n] = read(n);
  }

  // --- validation of the shown questions of one page
  function problem(n) {
    var it = spec.items[n], v = vals[n];
    if (!it.f || !rel[n] || it.t === 'calculate') return '';
    if (empty(v)) {
      var req = it.req || (it.reqIf && E.evalBool(it.reqIf, env('')));
      return req ? (it.reqMsg || M.err_required) : '';
    }
    if (it.t === 'integer' && !/^-?[0-9]+$/.test(v)) return M.err_integer;
    if ((it.t === 'decimal' || it.t === 'range') && !/^-?([0-9]+\.?[0-9]*|\.[0-9]+)$/.test(v)) return M.err_decimal;
    if (it.con && !E.evalBool(it.con, env(Array.isArray(v) ? v.join(' ') : v))) return it.conMsg || M.err_constraint;
    return '';
  }
  function showProblem(n, msg) {
    var box = form.querySelector('[data-item="' + n + '"]');
    var err = $('q-' + n + '-err');
    if (err) err.textContent = msg;
    if (box) {
      if (box.tagName === 'FIELDSET') box.setAttribute('aria-invalid', msg ? 'true' : 'false');
      var els = inputs(n);
      for (var i = 0; i < els.length; i++) if (els[i].type !== 'radio' && els[i].type !== 'checkbox') els[i].setAttribute('aria-invalid', msg ? 'true' : 'false');
    }
  }
  function labelOf(n) {
    var box = form.querySelector('[data-item="' + n + '"]');
    var l = box && box.querySelector('legend, label');
    return l ? l.textContent.replace(/[*（(].*$/, '').trim() : n;
  }
  // check validates a page and shows its problems; true when it has none.
  function check(page) {
    evaluate();
    var bad = [];
    spec.order.forEach(function (n) {
      var box = form.querySelector('[data-item="' + n + '"]');
      if (!box || box.closest('[data-page]').getAttribute('data-page') !== page) return;
      var msg = problem(n);
      showProblem(n, msg);
      if (msg) bad.push(n);
    });
    summarize(bad);
    if (bad.length) focusItem(bad[0]);
    return !bad.length;
  }
  function summarize(bad) {
    var s = $('summary');
    s.textContent = '';
    s.hidden = !bad.length;
    if (!bad.length) return;
    var p = document.createElement('p');
    p.textContent = M.err_summary.replace('{n}', bad.length);
    var ul = document.createElement('ul');
    bad.forEach(function (n) {
      var li = document.createElement('li'), a = document.createElement('a');
      a.href = '#q-' + n;
      a.textContent = labelOf(n);
      a.addEventListener('click', function (ev) { ev.preventDefault(); focusItem(n); });
      li.appendChild(a); ul.appendChild(li);
    });
    s.appendChild(p); s.appendChild(ul);
  }
  function focusItem(n) {
    var els = inputs(n);
    for (var i = 0; i < els.length; i++) {
      var c = els[i].closest('[data-choice]');
      if (!c || !c.hidden) { els[i].focus(); return; }
    }
  }

  // --- pages
  var pages = spec.pages, cur = -1, shownAt = 0;
  function pageRelevant(i) { var n = pages[i]; return !has(rel, n) || rel[n]; }
  function relevantPages() { var out = []; for (var i = 0; i < pages.length; i++) if (pageRelevant(i)) out.push(i); return out; }
  function leave() {
    if (cur < 0) return;
    var p = pages[cur];
    st.times[p] = (st.times[p] || 0) + (Date.now() - shownAt);
    if (st.visits.indexOf(p) < 0) st.visits.push(p);
  }
  function show(i, focus) {
    leave();
    cur = i;
    shownAt = Date.now();
    st.page = pages[i];
    save();
    $('consent').hidden = true;
    for (var j = 0; j < pages.length; j++) $('page-' + pages[j]).hidden = j !== i;
    var rp = relevantPages(), pos = rp.indexOf(i), last = pos === rp.length - 1;
    $('nav').hidden = false;
    $('progress').hidden = false;
    $('prev').hidden = pos <= 0;
    $('next').hidden = last;
    $('submit').hidden = !last;
    $('progress-bar').value = (pos + 1) / rp.length;
    $('progress-text').textContent = M.page_of.replace('{n}', pos + 1).replace('{total}', rp.length);
    $('summary').hidden = true;
    if (focus) { $('h-' + pages[i]).focus(); window.scrollTo(0, 0); }
  }
  function step(dir) {
    evaluate();
    var rp = relevantPages(), pos = rp.indexOf(cur);
    if (dir > 0 && !check(pages[cur])) return;
    var to = rp[pos + dir];
    if (to !== undefined) show(to, true);
  }

  // --- submitting
  function answers() {
    var out = {};
    spec.order.forEach(function (n) {
      var it = spec.items[n];
      if (it.f && rel[n] && it.t !== 'calculate' && !empty(vals[n])) out[n] = vals[n];
    });
    return out;
  }
  function paradata() {
    return { lang: spec.lang, pages: st.visits.map(function (p) { return { page: p, ms: Math.round(st.times[p] || 0) }; }) };
  }
  function setStatus(msg) { $('status').textContent = msg; }
  function busy(on) { $('submit').disabled = on; $('prev').disabled = on; if (on) setStatus(M.sending); }
  function submit() {
    evaluate();
    var rp = relevantPages();
    for (var k = 0; k < rp.length; k++) {
      if (!check(pages[rp[k]])) { if (rp[k] !== cur) { show(rp[k], false); check(pages[rp[k]]); } return; }
    }
    leave();
    shownAt = Date.now();
    // Kept with the draft: a retry, or a second press after a lost answer,
    // sends the same id, which the server stores once.
    if (!st.id) st.id = uuid();
    save();
    var body = JSON.stringify({
      instance_id: st.id, revision: spec.revision, started: st.started, ended: new Date().toISOString(),
      answers: answers(), paradata: paradata(), honeypot: $('hp-website').value, token: st.token
    });
    busy(true);
    send(body, 0);
  }
  function send(body, attempt) {
    var retry = function () {
      if (attempt >= 5) { busy(false); setStatus(M.err_failed); return; }
      setStatus(M.err_retry);
      setTimeout(function () { send(body, attempt + 1); }, 1000 * Math.pow(2, attempt));
    };
    fetch(form.getAttribute('data-submit'), {
      method: 'POST', credentials: 'same-origin', body: body,
      headers: { 'Content-Type': 'application/json', 'X-Govsurvey-Channel': 'web' }
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (j) {
        if (res.status === 200 || res.status === 201) return done(j.receipt || '');
        if (res.status >= 500 && res.status !== 501) return retry();
        busy(false);
        var e = j.error || {};
        // 422: an answer the server refuses; 409: a full quota of an answer.
        if ((res.status === 422 || res.status === 409) && e.field && has(spec.items, e.field)) {
          setStatus('');
          var box = form.querySelector('[data-item="' + e.field + '"]');
          var page = box && box.closest('[data-page]');
          if (page) show(pages.indexOf(page.getAttribute('data-page')), false);
          showProblem(e.field, e.message);
          summarize([e.field]);
          focusItem(e.field);
          return;
        }
        setStatus(e.message || M.err_failed);
      });
    }, retry);
  }
  function done(receipt) {
    st = { done: receipt, rev: spec.revision };
    save();
    thanks(receipt);
  }
  function thanks(receipt) {
    ['consent', 'nav', 'progress', 'summary'].forEach(function (id) { $(id).hidden = true; });
    pages.forEach(function (p) { $('page-' + p).hidden = true; });
    setStatus('');
    $('receipt').textContent = receipt;
    var a = $('withdraw-link');
    a.href += '&receipt=' + encodeURIComponent(receipt);
    $('thanks').hidden = false;
    $('thanks-h').focus();
  }

  // --- wiring
  form.hidden = false;
  if (st.done !== undefined) { thanks(st.done); return; }
  for (var n in st.answers) if (has(spec.items, n)) write(n, st.answers[n]);
  evaluate();
  form.addEventListener('change', function (ev) {
    evaluate();
    var item = ev.target.closest('[data-item]'), n = item && item.getAttribute('data-item');
    var err = n && $('q-' + n + '-err');
    if (err && err.textContent) showProblem(n, problem(n));
    var a = {};
    spec.order.forEach(function (n) { if (spec.items[n].f) a[n] = read(n); });
    st.answers = a;
    save();
  });
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (!$('submit').hidden) submit(); else if (cur >= 0) step(1);
  });
  // The start beacon, for the console's completion rate: once per page
  // load, a random id of the load and nothing else, without cookies
  // (web/console_starts.go). The console's preview posts nowhere.
  var beaconSent = false;
  function beacon() {
    var sub = form.getAttribute('data-submit'), u = sub.replace(/\/submissions(\?|$)/, '/starts$1');
    if (beaconSent || u === sub) return;
    beaconSent = true;
    fetch(u, { method: 'POST', credentials: 'omit', keepalive: true, body: JSON.stringify({ page: uuid() }),
      headers: { 'Content-Type': 'application/json' } }).catch(function () {});
  }
  $('agree').addEventListener('click', function () {
    if (!st.started) st.started = new Date().toISOString();
    st.consent = true;
    beacon();
    var rp = relevantPages();
    if (!rp.length) { submit(); return; } // nothing to ask: a form of metadata only
    show(rp[0], true);
  });
  $('next').addEventListener('click', function () { step(1); });
  $('prev').addEventListener('click', function () { step(-1); });
  $('lang-switch').addEventListener('click', function () { leave(); cur = -1; save(); });
  if (st.consent && pages.length) {
    var at = pages.indexOf(st.page);
    show(at >= 0 && pageRelevant(at) ? at : relevantPages()[0] || 0, false);
  } else {
    $('consent-h').focus();
  }
})();
