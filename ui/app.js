/* Switchyard dashboard (doc/dashboard.md).
 *
 * Security rules this file keeps:
 *  - every value from the gateway is written as text (text nodes,
 *    textContent); nothing is ever parsed as HTML, so a service name such as
 *    "<script>" shows as those characters;
 *  - the admin token lives in sessionStorage (this tab only) and travels
 *    only in the Authorization header, never in a URL;
 *  - no inline script or style and no other host: the page runs under
 *    "default-src 'self'" (src/admin/ui.c). */
'use strict';

(function () {
  const TOKEN_KEY = 'switchyard.adminToken';
  const REFRESH_MS = 2000;
  const PAGES = ['overview', 'traffic', 'upstreams', 'rollouts', 'explain'];

  const byId = (id) => document.getElementById(id);

  /* el('td', {class: 'num'}, 'text', childNode, ...): strings become text nodes. */
  function el(tag, attrs) {
    const e = document.createElement(tag);
    for (const k of Object.keys(attrs || {})) {
      if (k === 'class') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function table(headers, rows, numeric) {
    const num = new Set(numeric || []);
    const thead = el('thead', null, el('tr', null, ...headers.map((h, i) =>
      el('th', num.has(i) ? {class: 'num'} : null, h))));
    const tbody = el('tbody');
    for (const r of rows) {
      tbody.append(el('tr', null, ...r.map((c, i) =>
        el('td', num.has(i) ? {class: 'num'} : null, c))));
    }
    return el('div', {class: 'tablewrap'}, el('table', null, thead, tbody));
  }

  function stat(k, v, sub) {
    return el('div', {class: 'stat'}, el('div', {class: 'k'}, k),
              el('div', {class: 'v'}, v), sub ? el('div', {class: 'sub'}, sub) : null);
  }

  function badge(text, cls) {
    return el('span', {class: 'badge ' + cls}, text);
  }

  function show(value) {
    if (value === null || value === undefined) return '—';
    if (typeof value === 'object') return JSON.stringify(value);
    return String(value);
  }

  function fmtDuration(s) {
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    const m = Math.floor(s % 3600 / 60), r = s % 60;
    return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + (d || h || m ? m + 'm ' : '') + r + 's';
  }

  function fmtTime(unix) {
    return unix ? new Date(unix * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '—';
  }

  function fmtSeconds(s) {
    if (s === null || s === undefined) return '—';
    if (s === Infinity) return '> 10 s';
    if (s < 0.001) return (s * 1e6).toFixed(0) + ' µs';
    if (s < 1) return (s * 1e3).toPrecision(3) + ' ms';
    return s.toPrecision(3) + ' s';
  }

  /* ---- token and API ---- */

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  class AuthError extends Error {}

  async function call(method, path, body, tok) {
    const headers = {Authorization: 'Bearer ' + (tok === undefined ? token() || '' : tok)};
    const opts = {method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error'};
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(path, opts);
    let doc = null;
    try {
      doc = await r.json();
    } catch (e) {
      doc = null;
    }
    if ((r.status === 401 || r.status === 403) && tok === undefined) {
      logout('The gateway refused the token (' + r.status + '). Sign in again.');
      throw new AuthError('refused');
    }
    return {status: r.status, doc};
  }

  /* ---- login ---- */

  function showLogin(message) {
    byId('login').hidden = false;
    byId('nav').hidden = true;
    byId('logout').hidden = true;
    byId('updated').textContent = '';
    for (const p of PAGES) byId('page-' + p).hidden = true;
    byId('login-error').textContent = message || '';
    byId('token').value = '';
    byId('token').focus();
  }

  function logout(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    stopTimer();
    showLogin(message);
  }

  async function onLogin(ev) {
    ev.preventDefault();
    const tok = byId('token').value;
    byId('login-error').textContent = '';
    let r;
    try {
      r = await call('GET', '/v1/status', undefined, tok);
    } catch (e) {
      byId('login-error').textContent = 'The gateway did not answer: ' + e.message;
      return;
    }
    if (r.status === 200) {
      sessionStorage.setItem(TOKEN_KEY, tok);
      byId('token').value = '';
      enterApp();
      return;
    }
    byId('login-error').textContent = r.status === 401 || r.status === 403
      ? 'Wrong token: the gateway answered ' + r.status + ' (' + show(r.doc && r.doc.error) + ').'
      : 'Unexpected answer ' + r.status + '.';
  }

  /* ---- page switching and refresh ---- */

  let timer = null;
  let current = null;

  function stopTimer() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  function pageFromHash() {
    const h = location.hash.replace(/^#/, '');
    return PAGES.includes(h) ? h : 'overview';
  }

  function enterApp() {
    byId('login').hidden = true;
    byId('nav').hidden = false;
    byId('logout').hidden = false;
    route();
  }

  const refreshers = {};

  async function refresh() {
    const page = current;
    try {
      await refreshers[page]();
      byId('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      if (!(e instanceof AuthError)) byId('updated').textContent = 'update failed: ' + e.message;
    }
  }

  function route() {
    if (token() === null) return showLogin();
    current = pageFromHash();
    for (const p of PAGES) byId('page-' + p).hidden = p !== current;
    for (const a of document.querySelectorAll('#nav a')) {
      a.classList.toggle('active', a.dataset.page === current);
    }
    stopTimer();
    if (current === 'explain') {
      byId('updated').textContent = '';
      return;
    }
    refresh();
    timer = setInterval(refresh, REFRESH_MS);
  }

  /* ---- overview ---- */

  refreshers.overview = async function () {
    const r = await call('GET', '/v1/status');
    const s = r.doc || {};
    const body = clear(byId('overview-body'));
    const lr = s.last_reload;
    body.append(el('div', {class: 'grid'},
      stat('Version', show(s.version)),
      stat('Config version', show(s.config_version), 'generation ' + show(s.config_generation)),
      stat('Uptime', fmtDuration(s.uptime_seconds || 0)),
      stat('Workers', show(s.workers)),
      stat('Reloads', show(s.reloads && s.reloads.ok), show(s.reloads && s.reloads.failed) + ' refused'),
      stat('Config store', show(s.config_store && s.config_store.type))));
    const reload = el('div', {class: 'card', id: 'last-reload'}, el('h3', null, 'Last reload'));
    if (!lr) {
      reload.append(el('p', {class: 'muted'}, 'No reload since the gateway started.'));
    } else {
      reload.append(el('dl', {class: 'kv'},
        el('dt', null, 'When'), el('dd', null, fmtTime(lr.time)),
        el('dt', null, 'Result'), el('dd', null, lr.ok ? badge('took effect', 'ok') : badge('refused', 'bad'))));
      if (!lr.ok) reload.append(el('pre', {id: 'reload-error'}, show(lr.error)));
    }
    body.append(reload);
    const c = s.config || {};
    body.append(el('div', {class: 'grid'},
      stat('Services', show(c.services)), stat('Upstreams', show(c.upstreams)),
      stat('Routing plugins', show(c.plugins))));
  };

  /* ---- live traffic ---- */

  let lastTraffic = null;

  /* The q-quantile of a bucket histogram (per-bucket counts, last = +Inf),
   * interpolated linearly inside its bucket as Prometheus does. */
  function quantile(q, counts, bounds) {
    const total = counts.reduce((a, b) => a + b, 0);
    if (!total) return null;
    const rank = q * total;
    let cum = 0;
    for (let i = 0; i < counts.length; i++) {
      if (cum + counts[i] >= rank && counts[i] > 0) {
        if (i >= bounds.length) return Infinity;
        const lo = i ? bounds[i - 1] : 0;
        return lo + (bounds[i] - lo) * (rank - cum) / counts[i];
      }
      cum += counts[i];
    }
    return null;
  }

  function seriesKey(kind, s) {
    if (kind === 'apis') return [s.service, s.env, s.api].join('\u0000');
    if (kind === 'policies') return [s.plugin, s.policy].join('\u0000');
    return s.upstream;
  }

  /* Rates between two readings: {rps, err, p99, total}. */
  function windowRates(kind, cur, prev, bounds, dt) {
    const before = prev && prev.index[kind].get(seriesKey(kind, cur));
    const d = (f) => f(cur) - (before ? f(before) : 0);
    const dreq = d((s) => s.requests);
    const d5 = d((s) => s.classes['5xx'] || 0);
    const dbuckets = cur.buckets.map((v, i) => v - (before ? before.buckets[i] : 0));
    if (!prev || dt <= 0) return {rps: null, err: null, p99: null, total: cur.requests};
    return {rps: dreq / dt, err: dreq ? d5 / dreq : null, p99: quantile(0.99, dbuckets, bounds),
            total: cur.requests};
  }

  function indexed(doc) {
    doc.index = {};
    for (const kind of ['apis', 'policies', 'upstreams']) {
      doc.index[kind] = new Map(doc[kind].map((s) => [seriesKey(kind, s), s]));
    }
    return doc;
  }

  function rateCells(w) {
    return [w.rps === null ? '…' : w.rps.toFixed(1),
            w.err === null ? '—' : (w.err * 100).toFixed(1) + ' %',
            fmtSeconds(w.p99), String(w.total)];
  }

  refreshers.traffic = async function () {
    const r = await call('GET', '/v1/traffic');
    const doc = indexed(r.doc);
    const prev = lastTraffic;
    lastTraffic = doc;
    const dt = prev ? (doc.now_ms - prev.now_ms) / 1000 : 0;
    const bounds = doc.bucket_bounds;
    const body = clear(byId('traffic-body'));
    const RATE = ['req/s', '5xx', 'p99', 'total'];

    body.append(el('h2', null, 'Services and APIs'));
    body.append(table(['Service', 'Env', 'API'].concat(RATE), doc.apis.map((s) => {
      const name = el('div', null, s.service || '(no service)');
      if (s.service_name) name.append(el('div', {class: 'sub svc-name'}, s.service_name));
      if (s.service_desc) name.append(el('div', {class: 'sub'}, s.service_desc));
      return [name, s.env || '—', s.api || '(no API)'].concat(rateCells(windowRates('apis', s, prev, bounds, dt)));
    }), [3, 4, 5, 6]));

    body.append(el('h2', null, 'Routing policies'));
    body.append(doc.policies.length
      ? table(['Plugin', 'Policy'].concat(RATE), doc.policies.map((s) =>
        [s.plugin, s.policy].concat(rateCells(windowRates('policies', s, prev, bounds, dt)))), [2, 3, 4, 5])
      : el('p', {class: 'muted'}, 'No policy has matched a request yet.'));

    body.append(el('h2', null, 'Upstreams'));
    body.append(doc.upstreams.length
      ? table(['Upstream'].concat(RATE), doc.upstreams.map((s) => {
        const name = el('div', null, s.upstream);
        if (s.name) name.append(el('div', {class: 'sub'}, s.name));
        return [name].concat(rateCells(windowRates('upstreams', s, prev, bounds, dt)));
      }), [1, 2, 3, 4])
      : el('p', {class: 'muted'}, 'No request has gone to an upstream yet.'));
  };

  /* ---- upstreams ---- */

  function seg(id) {
    return encodeURIComponent(id);
  }

  refreshers.upstreams = async function () {
    const list = await call('GET', '/v1/upstreams');
    const items = (list.doc && list.doc.Items) || [];
    const details = await Promise.all(items.map((u) => Promise.all([
      call('GET', '/v1/upstreams/' + seg(u.UpstreamId) + '/health'),
      call('GET', '/v1/upstreams/' + seg(u.UpstreamId) + '/nodes')])));
    const body = clear(byId('upstreams-body'));
    if (!items.length) body.append(el('p', {class: 'muted'}, 'No upstream is configured.'));
    items.forEach((u, i) => {
      const health = details[i][0].doc || {};
      const nodes = details[i][1].doc || {};
      const byAddr = new Map();
      for (const n of health.nodes || []) byAddr.set(n.host + ':' + n.port, n);
      const card = el('div', {class: 'card upstream', 'data-upstream': u.UpstreamId});
      const title = el('h2', null, u.UpstreamId + ' ');
      title.append(badge((health.healthy_nodes || 0) + ' / ' + ((health.nodes || []).length) + ' healthy',
        health.healthy_nodes ? 'ok' : 'bad'));
      card.append(title);
      if (u.UpstreamName) card.append(el('div', {class: 'sub'}, u.UpstreamName));
      card.append(el('p', {class: 'muted'},
        [nodes.UpstreamType || 'IP_PORT', health.algorithm, health.scheme,
         'active checks ' + (health.active_checks ? 'on' : 'off'),
         'passive checks ' + (health.passive_checks ? 'on' : 'off')].join(' · ')));
      const rows = (nodes.UpstreamNodeSet || []).map((n) => {
        const h = byAddr.get(n.Host + ':' + n.Port) || {};
        const state = h.state || (n.Healthy === 'HEALTHY' ? 'healthy' : 'unhealthy');
        const src = n.Source === 'K8S' ? 'pod of ' + n.NameSpace + '/' + n.ServiceName : 'static';
        const st = el('span', null, badge(state, 'state-' + state));
        if (h.ejected_by) st.append(el('div', {class: 'sub'}, 'ejected by ' + h.ejected_by + ' checks'));
        return [el('span', {class: 'mono node-addr'}, (h.address || n.Host + ':' + n.Port)), src,
                show(n.Weight), st, show(h.active_connections), show(h.requests), show(h.failures),
                h.last_probe_status < 0 ? 'no answer' : show(h.last_probe_status)];
      });
      card.append(rows.length
        ? table(['Node', 'Source', 'Weight', 'State', 'Active conns', 'Requests', 'Failures', 'Last probe'],
          rows, [2, 4, 5, 6])
        : el('p', {class: 'muted'}, 'No node (no pod discovered, or no name resolved yet).'));
      for (const d of nodes.Discovery || []) {
        card.append(el('h3', null, 'Discovery: ' + show(d.ClusterId) + ' / ' + show(d.NameSpace) + ' / ' +
          show(d.ServiceName)));
        card.append(el('dl', {class: 'kv'},
          el('dt', null, 'Synced'), el('dd', null, d.Synced ? badge('yes', 'ok') : badge('no', 'bad')),
          el('dt', null, 'Stale'), el('dd', null, d.Stale ? badge('yes', 'bad') : 'no'),
          el('dt', null, 'Pods'), el('dd', null, show(d.Nodes) + ' (' + show(d.TerminatingNodes) + ' terminating)'),
          el('dt', null, 'Last sync'), el('dd', null, fmtTime(d.LastSync)),
          el('dt', null, 'Last error'), el('dd', null, show(d.LastError))));
      }
      body.append(card);
    });
  };

  /* ---- rollouts ---- */

  const PHASE_CLASS = {Progressing: 'ok', Succeeded: 'ok', Paused: 'off', Pending: 'off',
                       RolledBack: 'bad'};

  function armCell(a) {
    if (!a) return '—';
    return show(a.Requests) + ' req · ' + (100 * (a.ErrorRate || 0)).toFixed(2) + ' % 5xx · p99 ' +
      show(a.P99Ms) + ' ms';
  }

  /* GET /v1/rollouts (doc/rollouts.md): each rollout's policy, steps,
   * phase, the controller's last verdicts and events.  Read only: pause,
   * resume, abort and promote stay admin API calls.  A gateway without
   * rollouts answers 404: the page says so. */
  refreshers.rollouts = async function () {
    const r = await call('GET', '/v1/rollouts');
    const body = clear(byId('rollouts-body'));
    if (r.status === 404) {
      body.append(el('div', {class: 'card hook', id: 'rollouts-missing'},
        el('h3', null, 'Not available on this gateway'),
        el('p', null, 'GET /v1/rollouts answered 404: this build has no rollout API.')));
      return;
    }
    const items = (r.doc && r.doc.Items) || [];
    if (!items.length) {
      body.append(el('p', {class: 'muted', id: 'rollouts-none'},
        'No rollout. Create one with POST /v1/rollouts (doc/rollouts.md).'));
      return;
    }
    for (const ro of items) {
      const st = ro.Status || {};
      const card = el('div', {class: 'card rollout', 'data-rollout': ro.RolloutId});
      const title = el('h2', null, ro.RolloutId + ' ');
      title.append(badge(show(st.Phase), PHASE_CLASS[st.Phase] || 'off'));
      card.append(title);
      const steps = ro.Steps || [];
      card.append(el('dl', {class: 'kv'},
        el('dt', null, 'Policy'), el('dd', null, show(ro.PluginId) + ' / ' + show(ro.StrategyName)),
        el('dt', null, 'Split by'), el('dd', null, show(ro.SplitBy)),
        el('dt', null, 'Step'), el('dd', {class: 'ro-step'}, 'step ' + show((st.CurrentStep || 0) + 1) +
          ' of ' + steps.length + ': ' + show(st.CurrentWeight) + ' % of matching requests'),
        el('dt', null, 'Steps'), el('dd', null, steps.map((w) => w + ' %').join(' → ')),
        el('dt', null, 'Analysis'), el('dd', {class: 'mono'}, show(ro.Analysis)),
        el('dt', null, 'Canary requests'), el('dd', null, (st.CanaryRequests || 0) + ' (' +
          (st.FailedCanaryRequests || 0) + ' failed)')));
      const verdicts = (st.Verdicts || []).slice(-5).reverse();
      if (verdicts.length) {
        card.append(el('h3', null, 'Last verdicts'));
        card.append(table(['Time', 'Step', 'Weight', 'Result', 'Canary', 'Baseline', 'Reason'],
          verdicts.map((v) => [show(v.Time), show(v.Step), show(v.Weight) + ' %',
            badge(show(v.Result), v.Result === 'Pass' ? 'ok' : v.Result === 'Fail' ? 'bad' : 'off'),
            armCell(v.Canary), armCell(v.Baseline), show(v.Reason)])));
      }
      const events = (st.Events || []).slice(-5).reverse();
      if (events.length) {
        card.append(el('h3', null, 'Last events'));
        card.append(table(['Time', 'Phase', 'Step', 'Weight', 'Reason'],
          events.map((e) => [show(e.Time), show(e.From) + ' → ' + show(e.To), show(e.Step),
            show(e.Weight) + ' %', show(e.Reason)])));
      }
      body.append(card);
    }
  };

  /* ---- explain ---- */

  async function onExplain(ev) {
    ev.preventDefault();
    const err = byId('explain-error');
    err.textContent = '';
    const req = {method: byId('ex-method').value, url: byId('ex-url').value.trim()};
    const headers = {};
    for (const line of byId('ex-headers').value.split('\n')) {
      if (!line.trim()) continue;
      const i = line.indexOf(':');
      if (i <= 0) {
        err.textContent = 'Header lines are "Name: value": ' + line;
        return;
      }
      const k = line.slice(0, i).trim(), v = line.slice(i + 1).trim();
      headers[k] = k in headers ? [].concat(headers[k], v) : v;
    }
    if (Object.keys(headers).length) req.headers = headers;
    if (byId('ex-client').value.trim()) req.client_ip = byId('ex-client').value.trim();
    if (byId('ex-random').value.trim()) req.random = Number(byId('ex-random').value);
    let r;
    try {
      r = await call('POST', '/v1/explain', req);
    } catch (e) {
      if (!(e instanceof AuthError)) err.textContent = e.message;
      return;
    }
    const body = clear(byId('explain-body'));
    if (r.status !== 200) {
      err.textContent = show(r.doc && r.doc.message);
      return;
    }
    const x = r.doc;
    const name = (o) => (o ? o.id + (o.name ? ' (' + o.name + ')' : '') : '—');
    const b = x.backend || {};
    body.append(el('div', {class: 'card', id: 'explain-result'},
      el('h3', null, x.routed ? badge('routed', 'ok') : badge('answered ' + show(x.status) + ' by the gateway', 'bad')),
      el('dl', {class: 'kv'},
        el('dt', null, 'Service'), el('dd', null, name(x.service)),
        el('dt', null, 'Environment'), el('dd', null, show(x.environment)),
        el('dt', null, 'API'), el('dd', null, name(x.api)),
        el('dt', null, 'Plugin'), el('dd', null, name(x.plugin)),
        el('dt', null, 'Policy'), el('dd', null, x.policy ? show(x.policy.name || x.policy) : 'none matched'),
        el('dt', null, 'Backend'), el('dd', null, b.upstream ? 'upstream ' + b.upstream
          : b.type === 'MOCK' ? 'MOCK (answered by the gateway)' : show(b.url || b.type)),
        el('dt', null, 'Backend request'), el('dd', {class: 'mono'}, b.path ? show(b.method) + ' ' + b.path : '—'),
        el('dt', null, 'Node'), el('dd', null, x.node ? x.node.host + ':' + x.node.port : '—'),
        el('dt', null, 'Why'), el('dd', null, show(x.error)))));
    if ((x.policies || []).length) {
      body.append(table(['#', 'Policy', 'Weight', 'Result'],
        x.policies.map((p, i) => [String(i + 1), show(p.name), show(p.weight), show(p.result)]), [0, 2]));
    }
    body.append(el('pre', {id: 'explain-text'}, show(x.text)));
  }

  /* ---- start ---- */

  document.addEventListener('DOMContentLoaded', () => {
    byId('login-form').addEventListener('submit', onLogin);
    byId('explain-form').addEventListener('submit', onExplain);
    byId('logout').addEventListener('click', () => logout('Signed out.'));
    window.addEventListener('hashchange', () => {
      if (token() !== null) route();
    });
    route();
  });
})();
