// expr.js evaluates govsurvey expression trees (JSON from Go's
// form/expr Expr.AST) in the browser; it never parses expression text.
// Each rule mirrors the Go code step for step so the web form and the
// server agree: change both together; expr_browser_test.go runs
// testdata/cases.json through both.
//
//   var env = GovExpr.env({answers: {age: '19'}, current: '', now: new Date()});
//   GovExpr.evalBool(ast, env);   // relevant, constraint, checks
//   GovExpr.evalString(ast, env); // calculation
//
// An env has value(name) (a string; undefined: no such field), current(),
// now() (a Date, read in the browser's zone) and optionally path(p).
(function (root) {
  'use strict';

  var DAY = 86400000;
  var NUM = /^[ \t\r\n]*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))[ \t\r\n]*$/;
  var DT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$/;
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  var DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

  function trimWS(s) { return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, ''); }
  function pad(n, w) { var s = String(n); while (s.length < w) s = '0' + s; return s; }

  // XPath number-to-string: shortest digits, never an exponent.
  function numStr(n) {
    if (n !== n) return 'NaN';
    if (n === Infinity) return 'Infinity';
    if (n === -Infinity) return '-Infinity';
    if (n === 0) return '0';
    var s = String(n);
    if (s.indexOf('e') < 0) return s;
    var neg = n < 0, p = (neg ? s.slice(1) : s).split('e'), e = +p[1];
    var digits = p[0].replace('.', ''), point = (p[0].indexOf('.') < 0 ? p[0].length : p[0].indexOf('.')) + e;
    if (point <= 0) s = '0.' + '0'.repeat(-point) + digits;
    else if (point >= digits.length) s = digits + '0'.repeat(point - digits.length);
    else s = digits.slice(0, point) + '.' + digits.slice(point);
    return (neg ? '-' : '') + s;
  }

  function parseNum(s) {
    var m = NUM.exec(s);
    if (m) return Number(m[1]);
    var c = parseDT(trimWS(s));
    return c ? (c.days * DAY + c.ms - c.offset * 60000) / DAY : NaN;
  }

  function str(v) { return typeof v === 'string' ? v : typeof v === 'number' ? numStr(v) : v ? 'true' : 'false'; }
  function num(v) { return typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : parseNum(v); }
  function bool(v) { return typeof v === 'string' ? v !== '' : typeof v === 'number' ? v !== 0 && v === v : v; }

  function compare(op, a, b) {
    if (op === '=' || op === '!=') {
      var eq;
      if (typeof a === 'boolean' || typeof b === 'boolean') eq = bool(a) === bool(b);
      else if (typeof a === 'number' || typeof b === 'number') eq = num(a) === num(b);
      else eq = a === b;
      return eq === (op === '=');
    }
    var x = num(a), y = num(b);
    switch (op) {
      case '<': return x < y;
      case '<=': return x <= y;
      case '>': return x > y;
      case '>=': return x >= y;
    }
    return false;
  }

  // --- dates: integer calendar arithmetic, never the host time zone
  function fdiv(a, b) { return Math.floor(a / b); }
  function daysIn(y, m) {
    if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
    return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
  }
  function daysFromCivil(y, m, d) {
    if (m <= 2) y--;
    var era = fdiv(y, 400), yoe = y - era * 400, mp = (m + 9) % 12;
    var doy = fdiv(153 * mp + 2, 5) + d - 1;
    return era * 146097 + yoe * 365 + fdiv(yoe, 4) - fdiv(yoe, 100) + doy - 719468;
  }
  function civilFromDays(z) {
    z += 719468;
    var era = fdiv(z, 146097), doe = z - era * 146097;
    var yoe = fdiv(doe - fdiv(doe, 1460) + fdiv(doe, 36524) - fdiv(doe, 146096), 365);
    var doy = doe - (365 * yoe + fdiv(yoe, 4) - fdiv(yoe, 100)), mp = fdiv(5 * doy + 2, 153);
    var m = mp < 10 ? mp + 3 : mp - 9;
    return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, doy - fdiv(153 * mp + 2, 5) + 1];
  }
  function parseDT(s) {
    var m = DT.exec(s);
    if (!m) return null;
    var y = +m[1], mo = +m[2], d = +m[3];
    if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return null;
    var c = {days: daysFromCivil(y, mo, d), ms: 0, offset: 0};
    if (m[4] === undefined) return c;
    var h = +m[4], mi = +m[5], sec = +(m[6] || 0);
    if (h > 23 || mi > 59 || sec > 59) return null;
    c.ms = ((h * 60 + mi) * 60 + sec) * 1000 + +((m[7] || '') + '000').slice(0, 3);
    var z = m[8];
    if (z && z !== 'Z') {
      var dg = z.slice(1).replace(':', ''), oh = +dg.slice(0, 2), om = dg.length === 4 ? +dg.slice(2) : 0;
      if (oh > 23 || om > 59) return null;
      c.offset = (z[0] === '-' ? -1 : 1) * (oh * 60 + om);
    }
    return c;
  }
  function civilFromNumber(x) {
    if (x !== x || Math.abs(x) > 3e6) return null;
    var ms = Math.floor(x * DAY), days = fdiv(ms, DAY);
    return {days: days, ms: ms - days * DAY, offset: 0};
  }
  function civilFromValue(v) {
    if (typeof v === 'string' && !NUM.test(v)) return parseDT(trimWS(v));
    return civilFromNumber(num(v));
  }
  function inRange(c) { var y = civilFromDays(c.days)[0]; return y >= 0 && y <= 9999; }
  function dateStr(c) { var d = civilFromDays(c.days); return pad(d[0], 4) + '-' + pad(d[1], 2) + '-' + pad(d[2], 2); }
  function formatDate(c, f) {
    var d = civilFromDays(c.days), ms = c.ms, out = '';
    var h = Math.floor(ms / 3600000), mi = Math.floor(ms / 60000) % 60, s = Math.floor(ms / 1000) % 60;
    var rs = Array.from(f);
    for (var i = 0; i < rs.length; i++) {
      if (rs[i] !== '%' || i + 1 === rs.length) { out += rs[i]; continue; }
      var k = rs[++i];
      switch (k) {
        case 'Y': out += pad(d[0], 4); break;
        case 'y': out += pad(d[0] % 100, 2); break;
        case 'm': out += pad(d[1], 2); break;
        case 'n': out += d[1]; break;
        case 'b': out += MONTHS[d[1] - 1]; break;
        case 'd': out += pad(d[2], 2); break;
        case 'e': out += d[2]; break;
        case 'H': out += pad(h, 2); break;
        case 'h': out += h; break;
        case 'M': out += pad(mi, 2); break;
        case 'S': out += pad(s, 2); break;
        case '3': out += pad(ms % 1000, 3); break;
        case 'a': out += DAYS[((c.days + 4) % 7 + 7) % 7]; break;
        case '%': out += '%'; break;
        default: out += '%' + k;
      }
    }
    return out;
  }
  function today(t) { return pad(t.getFullYear(), 4) + '-' + pad(t.getMonth() + 1, 2) + '-' + pad(t.getDate(), 2); }
  function nowStr(t) {
    var off = -t.getTimezoneOffset(), a = Math.abs(off);
    return today(t) + 'T' + pad(t.getHours(), 2) + ':' + pad(t.getMinutes(), 2) + ':' + pad(t.getSeconds(), 2) +
      '.' + pad(t.getMilliseconds(), 3) + (off < 0 ? '-' : '+') + pad(Math.floor(a / 60), 2) + ':' + pad(a % 60, 2);
  }

  // --- numbers
  function toIndex(f) {
    if (f !== f) return 0;
    if (f >= 2147483647) return 2147483647;
    if (f <= -2147483648) return -2147483648;
    return Math.trunc(f);
  }
  function incDecimal(s) {
    var b = s.split('');
    for (var i = b.length - 1; i >= 0; i--) {
      if (b[i] < '9') { b[i] = String.fromCharCode(b[i].charCodeAt(0) + 1); return b.join(''); }
      b[i] = '0';
    }
    return '1' + b.join('');
  }
  function roundPlaces(x, places) {
    if (x !== x || !isFinite(x)) return x;
    var d = toIndex(places);
    if (d > 30 || d < -30) return NaN;
    if (x === 0) return 0;
    var p = Math.abs(x).toExponential().split('e'), e = parseInt(p[1], 10), digits = p[0].replace('.', '');
    var keep = e + 1 + d;
    if (keep >= digits.length) return x;
    if (keep < 0) return 0;
    var kept = digits.slice(0, keep) || '0', rest = digits.slice(keep).replace(/0+$/, '');
    if (rest && (rest[0] > '5' || rest[0] === '5' && (rest.length > 1 || x > 0))) kept = incDecimal(kept);
    var r = Number(kept + 'e' + (e + 1 - keep));
    if (r === 0) return 0;
    return x < 0 ? -r : r;
  }
  function xround(x) {
    if (x !== x || !isFinite(x)) return x;
    var r = Math.floor(x);
    return x - r >= 0.5 ? r + 1 : r;
  }
  function pow(x, y) {
    if (y !== y) return NaN;
    if (!isFinite(y) && Math.abs(x) === 1) return NaN;
    if (y === Math.trunc(y) && Math.abs(y) <= 64) {
      var r = 1, b = x;
      for (var k = Math.abs(y); k > 0; k = Math.floor(k / 2)) { if (k % 2 === 1) r *= b; b *= b; }
      return y < 0 ? 1 / r : r;
    }
    return Math.pow(x, y);
  }
  function log10(x) {
    var r = Math.log10(x), k = Math.round(r);
    return isFinite(k) && Number('1e' + k) === x ? k : r;
  }

  // --- regular expressions: whole-value match, compiled once per pattern
  var regexCache = new Map();
  function regex(p) {
    if (regexCache.has(p)) return regexCache.get(p);
    var re = null;
    for (var flags of ['u', '']) {
      try { new RegExp(p, flags); re = new RegExp('^(?:' + p + ')$', flags); break; } catch (e) { /* next */ }
    }
    if (regexCache.size > 200) regexCache.clear();
    regexCache.set(p, re);
    return re;
  }

  function randomInt(n) {
    var c = root.crypto, a = new Uint32Array(1);
    if (c && c.getRandomValues) { c.getRandomValues(a); return a[0] % n; }
    return Math.floor(Math.random() * n);
  }
  // uuid(): version 4; uuid(len): len random letters and digits.
  function uuid(len) {
    var an = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', s = '';
    if (len !== undefined) { while (s.length < len) s += an[randomInt(62)]; return s; }
    for (var i = 0; i < 36; i++) {
      s += i === 8 || i === 13 || i === 18 || i === 23 ? '-' : i === 14 ? '4' : i === 19 ? an[8 + randomInt(4)] : an[randomInt(16)];
    }
    return s;
  }
  function choices(list) { return list.split(' ').filter(function (c) { return c !== ''; }); }

  // --- evaluation
  // field reads ${name}, a path or "."; [value, exists].
  function field(n, env) {
    var v;
    if (n[0] === '.') return [str(env.current()), true];
    if (n[0] === 'p' && typeof env.path === 'function') v = env.path(n[2]);
    else v = env.value(n[1]);
    if (v === undefined || v === null) return ['', false];
    return [Array.isArray(v) ? v.join(' ') : str(v), true];
  }

  function ev(n, env) {
    switch (n[0]) {
      case 's': case 'n': return n[1];
      case 'r': case 'p': case '.': return field(n, env)[0];
      case 'neg': return -num(ev(n[1], env));
      case 'f': return call(n[1], n.slice(2), env);
      case 'or': return bool(ev(n[1], env)) || bool(ev(n[2], env));
      case 'and': return bool(ev(n[1], env)) && bool(ev(n[2], env));
      case '=': case '!=': case '<': case '<=': case '>': case '>=':
        return compare(n[0], ev(n[1], env), ev(n[2], env));
    }
    var x = num(ev(n[1], env)), y = num(ev(n[2], env));
    switch (n[0]) {
      case '+': return x + y;
      case '-': return x - y;
      case '*': return x * y;
      case 'div': return x / y;
      case 'mod': return x % y;
    }
    throw new Error('expr: unknown node ' + n[0]);
  }

  function call(name, a, env) {
    var S = function (i) { return str(ev(a[i], env)); };
    var N = function (i) { return num(ev(a[i], env)); };
    var B = function (i) { return bool(ev(a[i], env)); };
    var cur = function () { return a.length ? ev(a[0], env) : str(env.current()); };
    var v, i, s, c, rs, f;
    switch (name) {
      case 'if': return B(0) ? ev(a[1], env) : ev(a[2], env);
      case 'coalesce':
        for (i = 0; i < a.length; i++) { v = ev(a[i], env); if (!(v === '' || typeof v === 'number' && v !== v)) return v; }
        return v;
      case 'not': return !B(0);
      case 'true': return true;
      case 'false': return false;
      case 'boolean': return B(0);
      case 'boolean-from-string': s = S(0); return s.toLowerCase() === 'true' || s === '1';
      case 'once': s = str(env.current()); return s !== '' ? s : ev(a[0], env);
      case 'checklist':
        c = 0;
        for (i = 2; i < a.length; i++) if (B(i)) c++;
        var lo = toIndex(N(0)), hi = toIndex(N(1));
        return (lo < 0 || c >= lo) && (hi < 0 || c <= hi);
      case 'string': return str(cur());
      case 'number': return num(cur());
      case 'int': return Math.trunc(N(0));
      case 'round': return roundPlaces(N(0), a.length === 2 ? N(1) : 0);
      case 'floor': return Math.floor(N(0));
      case 'ceiling': return Math.ceil(N(0));
      case 'abs': return Math.abs(N(0));
      case 'pow': return pow(N(0), N(1));
      case 'sqrt': return Math.sqrt(N(0));
      case 'exp': return Math.exp(N(0));
      case 'exp10': return pow(10, N(0));
      case 'log': return Math.log(N(0));
      case 'log10': return log10(N(0));
      case 'pi': return Math.PI;
      case 'sin': case 'cos': case 'tan': case 'asin': case 'acos': case 'atan': return Math[name](N(0));
      case 'atan2': return Math.atan2(N(0), N(1));
      case 'random': return Math.random();
      case 'string-length': return Array.from(str(cur())).length;
      case 'normalize-space': return str(cur()).split(/[ \t\r\n]+/).filter(Boolean).join(' ');
      case 'concat': return a.map(function (_, j) { return S(j); }).join('');
      case 'join': s = S(0); return a.slice(1).map(function (_, j) { return S(j + 1); }).join(s);
      case 'contains': return S(0).indexOf(S(1)) >= 0;
      case 'starts-with': return S(0).startsWith(S(1));
      case 'ends-with': return S(0).endsWith(S(1));
      case 'substr':
        rs = Array.from(S(0));
        var l = rs.length, st = toIndex(N(1)), en = a.length === 3 ? toIndex(N(2)) : l;
        if (st < 0) st += l;
        if (en < 0) en += l;
        st = Math.min(Math.max(st, 0), l); en = Math.min(Math.max(en, 0), l);
        return st > en ? '' : rs.slice(st, en).join('');
      case 'substring':
        s = S(0);
        var from = xround(N(1)), to = a.length === 3 ? from + xround(N(2)) : Infinity, p = 0, out = '';
        for (var ch of s) { p++; if (p >= from && p < to) out += ch; }
        return out;
      case 'substring-before': s = S(0); i = s.indexOf(S(1)); return i < 0 ? '' : s.slice(0, i);
      case 'substring-after': s = S(0); f = S(1); i = s.indexOf(f); return i < 0 ? '' : s.slice(i + f.length);
      case 'translate':
        var fr = Array.from(S(1)), tr = Array.from(S(2)), res = '';
        for (var t of S(0)) { i = fr.indexOf(t); if (i < 0) res += t; else if (i < tr.length) res += tr[i]; }
        return res;
      case 'regex': s = S(0); v = regex(S(1)); return v ? v.test(s) : false;
      case 'uuid': return a.length ? uuid(Math.min(Math.max(toIndex(N(0)), 0), 1024)) : uuid();
      case 'selected': return (' ' + S(0) + ' ').indexOf(' ' + trimWS(S(1)) + ' ') >= 0;
      case 'count-selected': return choices(S(0)).length;
      case 'selected-at': rs = choices(S(0)); i = toIndex(N(1)); return i < 0 || i >= rs.length ? '' : rs[i];
      case 'sum': f = parseNum(field(a[0], env)[0]); return f !== f ? 0 : f;
      case 'count': return field(a[0], env)[1] ? 1 : 0;
      case 'count-non-empty': v = field(a[0], env); return v[1] && v[0] !== '' ? 1 : 0;
      case 'max': case 'min':
        var best = NaN, sign = name === 'max' ? 1 : -1;
        for (i = 0; i < a.length; i++) { f = N(i); if (f === f && (best !== best || (f - best) * sign > 0)) best = f; }
        return best;
      case 'today': return today(env.now());
      case 'now': return nowStr(env.now());
      case 'date':
        v = ev(a[0], env);
        c = typeof v === 'string' && !NUM.test(v) ? parseDT(trimWS(v)) : civilFromNumber(Math.trunc(num(v)));
        return c && inRange(c) ? dateStr(c) : '';
      case 'decimal-date-time': v = ev(a[0], env); return v === '' ? v : num(v);
      case 'format-date': case 'format-date-time':
        c = civilFromValue(ev(a[0], env));
        return c && inRange(c) ? formatDate(c, S(1)) : '';
    }
    throw new Error("expr: unknown function '" + name + "'");
  }

  function tree(ast) { return typeof ast === 'string' ? JSON.parse(ast) : ast; }

  var GovExpr = {
    // evaluate returns the XPath value: a string, number or boolean.
    evaluate: function (ast, env) { return ev(tree(ast), env); },
    evalBool: function (ast, env) { return bool(ev(tree(ast), env)); },
    evalString: function (ast, env) { return str(ev(tree(ast), env)); },
    string: str,
    number: num,
    boolean: bool,
    // env builds an env from answers (an array for a multiple choice);
    // a field missing from answers does not exist.
    env: function (o) {
      var answers = o.answers || {};
      return {
        value: function (name) { return Object.prototype.hasOwnProperty.call(answers, name) ? answers[name] : undefined; },
        current: function () { return o.current === undefined ? '' : o.current; },
        now: function () { return o.now || new Date(); }
      };
    }
  };

  if (typeof module === 'object' && module.exports) module.exports = GovExpr;
  else root.GovExpr = GovExpr;
})(typeof globalThis !== 'undefined' ? globalThis : this);
