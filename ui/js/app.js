// The dashboard: sign-in, the /events stream, the views, the actions.
// Plain ES module, no build step. Data: with the token, every topic from
// /events (?token=, EventSource cannot send headers); without it, the
// public /metrics only (read-only overview). Actions POST /api/v1/<command>
// with "Authorization: Bearer <token>" after a confirmation.
import * as F from './format.js';
import * as V from './views.js';
import uPlot from '../vendor/uplot/uPlot.esm.js';

const TOPICS = ['status', 'stats', 'workflow/status', 'workflow/history', 'verdict/status',
  'fault/list', 'chaos/list', 'shadow/status', 'analytics/summary', 'graph/show'];
const KEY = 'umbra.token';
const $ = (id) => document.getElementById(id);

const S = {
  token: sessionStorage.getItem(KEY),
  data: {},                 // topic -> the command's response object
  prevStats: null, rates: null,
  es: null, poll: null,
  view: 'overview',
  chart: null, series: [[], []],
  cy: null, cyKey: '',
  events: 0,                // updates received (tests read it)
};
window.umbra = S;           // for the browser tests and curious operators

function result(topic) {
  const r = S.data[topic];
  return r && r.ok ? r.result : null;
}

function say(text, kind = 'ok') {
  const m = $('msg');
  m.textContent = text;
  m.className = kind;
  m.hidden = false;
}

function live(text, cls) {
  const l = $('live');
  l.textContent = text;
  l.className = 'live ' + cls;
}

// ---- data -----------------------------------------------------------------

function onStats(stats) {
  if (S.prevStats) {
    S.rates = F.rates(S.prevStats, stats, stats.time_s === undefined ? 2 : undefined);
    const pps = Object.values(S.rates.ports).reduce((a, p) => a + (p.rx_pps ?? 0), 0);
    S.series[0].push(Date.now() / 1000);
    S.series[1].push(pps);
    if (S.series[0].length > 300) { S.series[0].shift(); S.series[1].shift(); }
  }
  S.prevStats = stats;
}

function connect() {
  disconnect();
  if (!S.token) {
    readOnly();
    return;
  }
  const es = new EventSource('/events?token=' + encodeURIComponent(S.token));
  S.es = es;
  live('connecting', 'off');
  es.onopen = () => live('live', 'on');
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      // Refused (a wrong token, or too many clients): not retried by itself.
      live('refused', 'off');
      say('The /events stream was refused: check the token and sign in again.', 'error');
    } else {
      live('reconnecting', 'off');
    }
  };
  for (const t of TOPICS) {
    es.addEventListener(t, (ev) => {
      let d;
      try { d = JSON.parse(ev.data); } catch { return; }
      S.data[t] = d;
      S.events++;
      if (t === 'stats' && d.ok) onStats(d.result);
      schedule();
    });
  }
}

function disconnect() {
  if (S.es) { S.es.close(); S.es = null; }
  if (S.poll) { clearInterval(S.poll); S.poll = null; }
}

// Without a token: what /metrics says, every 2 s.
function readOnly() {
  live('read-only', 'ro');
  const tick = async () => {
    try {
      const r = await fetch('/metrics', { cache: 'no-store' });
      if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
      const st = F.statsFromProm(F.parseProm(await r.text()));
      S.data.stats = { ok: true, result: st };
      S.events++;
      onStats(st);
      schedule();
    } catch (e) {
      live('offline', 'off');
    }
  };
  tick();
  S.poll = setInterval(tick, 2000);
}

// ---- rendering ---------------------------------------------------------------

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
}

function render() {
  const canAct = Boolean(S.token);
  const main = $('view');
  const err = (t) => V.failed(S.data[t]);
  let html;
  switch (S.view) {
  case 'releases':
    html = err('workflow/status') ?? V.releases(result('workflow/status'),
      result('verdict/status'), result('workflow/history'), canAct);
    break;
  case 'shadows':
    html = err('shadow/status') ?? V.shadows(result('shadow/status'));
    break;
  case 'faults':
    html = err('fault/list') ?? V.faults(result('fault/list'), result('chaos/list'),
      Date.now() / 1000, canAct);
    break;
  case 'analytics':
    html = err('analytics/summary') ?? V.analytics(result('analytics/summary'));
    break;
  case 'graph':
    html = '';
    break;
  default:
    html = V.overview(result('status'), result('stats'), S.rates, !canAct);
  }
  if (!canAct && S.view !== 'overview')
    html = '<p class="empty">Sign in with the API token to see this view.</p>';
  main.innerHTML = html;
  main.dataset.view = S.view;
  $('chart-box').hidden = S.view !== 'overview';
  $('graph-box').hidden = S.view !== 'graph';
  if (S.view === 'overview') chart();
  if (S.view === 'graph') graph();
}

function chart() {
  if (S.series[0].length < 2) return;
  if (!S.chart) {
    S.chart = new uPlot({
      width: Math.max(300, $('chart').clientWidth || 800), height: 160,
      series: [{}, { label: 'packets/s', stroke: '#4c9be8', width: 1 }],
      axes: [{ stroke: '#7b8794' }, { stroke: '#7b8794' }],
    }, S.series, $('chart'));
  } else {
    S.chart.setData(S.series);
  }
}

let Cytoscape = null;
async function graph() {
  const g = result('graph/show');
  const note = $('graph-note');
  if (!g) {
    note.innerHTML = S.token
      ? '<p class="empty" id="graph-placeholder">The dependency map (graph/show) is not ' +
        'served by this umbra yet: this view fills in by itself once it is.</p>'
      : '<p class="empty">Sign in with the API token to see this view.</p>';
    return;
  }
  const { elements, stages } = V.graphElements(g);
  note.innerHTML = `<p>${F.num(elements.filter((e) => e.data.source).length)} edges in ` +
    `${F.num(stages.length)} stages: ${stages.map(F.esc).join(' · ')}</p>`;
  const key = JSON.stringify(g);
  if (key === S.cyKey) return;
  S.cyKey = key;
  if (!Cytoscape) Cytoscape = (await import('../vendor/cytoscape/cytoscape.esm.min.mjs')).default;
  if (S.cy) S.cy.destroy();
  S.cy = Cytoscape({
    container: $('graph'), elements, layout: { name: 'preset' },
    textureOnViewport: true, hideEdgesOnViewport: elements.length > 2000,
    style: [
      { selector: 'node', style: { label: 'data(label)', 'font-size': 9, color: '#d8dee9',
        'background-color': '#4c9be8', width: 10, height: 10 } },
      { selector: 'edge', style: { width: 1, 'curve-style': 'haystack',
        'line-color': 'mapData(dev, 0, 1, #4caf50, #e05050)' } },
      { selector: 'edge[status = "missing"]', style: { 'line-style': 'dashed' } },
    ],
  });
  S.cy.fit();
}

// ---- actions -------------------------------------------------------------------

async function api(cmd, args) {
  const r = await fetch('/api/v1/' + cmd, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json',
      ...(S.token ? { Authorization: 'Bearer ' + S.token } : {}) },
    body: JSON.stringify(args),
  });
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  return { status: r.status, body };
}

const ACTIONS = {
  rollback: (b) => ({ ask: `Roll back ${b.service} (its last transition, ${b.version})?`,
    cmd: 'event/rollback', args: { service: b.service, reason: 'dashboard' } }),
  approve: (b) => ({ ask: `Approve ${b.service} ${b.version} for the next stage?`,
    cmd: 'event/manual_approval',
    args: { service: b.service, version: b.version, approver: 'dashboard' } }),
  'chaos-start': (b) => ({ ask: `Start chaos scenario ${b.name}?`, cmd: 'chaos/start',
    args: { name: b.name } }),
  'chaos-stop': (b) => ({ ask: `Stop chaos scenario ${b.name} now?`, cmd: 'chaos/stop',
    args: { name: b.name } }),
  'fault-clear': (b) => ({ ask: `Remove fault rule ${b.id}?`, cmd: 'fault/clear',
    args: { id: Number(b.id) } }),
};

async function onAction(btn) {
  const a = ACTIONS[btn.dataset.act]?.(btn.dataset);
  if (!a || !window.confirm(a.ask)) return;
  try {
    const { status, body } = await api(a.cmd, a.args);
    if (status === 200 && body?.ok) say(`${a.cmd}: done`, 'ok');
    else say(`${a.cmd}: refused (${status}): ${body?.error?.message ?? ''}`, 'error');
  } catch (e) {
    say(`${a.cmd}: ${e.message}`, 'error');
  }
}

// ---- sign-in and navigation ---------------------------------------------------

function signedIn() {
  $('login').hidden = Boolean(S.token);
  $('logout').hidden = !S.token;
}

async function signIn(token) {
  const saved = S.token;
  S.token = token;
  const { status } = await api('hello', {}).catch(() => ({ status: 0 }));
  if (status !== 200) {
    S.token = saved;
    say(status === 401 ? 'Wrong token.' : status === 403
      ? 'This umbra serves no API over HTTP (no --http-token-file).'
      : `Sign-in failed (${status}).`, 'error');
    return;
  }
  sessionStorage.setItem(KEY, token);
  $('msg').hidden = true;
  signedIn();
  S.data = {};
  connect();
  schedule();
}

function show(view) {
  S.view = ['overview', 'releases', 'shadows', 'faults', 'analytics', 'graph']
    .includes(view) ? view : 'overview';
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.dataset.view === S.view);
  schedule();
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('token').value.trim();
  $('token').value = '';
  if (t) signIn(t);
});
$('logout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  S.token = null;
  S.data = {};
  signedIn();
  connect();
  schedule();
});
$('view').addEventListener('click', (e) => {
  const b = e.target.closest('button.act');
  if (b) onAction(b);
});
window.addEventListener('hashchange', () => show(location.hash.slice(1)));
signedIn();
show(location.hash.slice(1));
connect();
