// The dashboard: sign-in, the /events stream, the views, the actions.
// Plain ES module, no build step. Data: with the token, every topic from
// /events (?token=, EventSource cannot send headers); without it, the
// public /metrics only (read-only overview). Actions POST /api/v1/<command>
// with "Authorization: Bearer <token>" after a confirmation.
import * as F from './format.js';
import * as V from './views.js';
import { fleet } from './fleet.js';
import uPlot from '../vendor/uplot/uPlot.esm.js';

const TOPICS = ['status', 'stats', 'workflow/status', 'workflow/history', 'verdict/status',
  'fault/list', 'chaos/list', 'shadow/status', 'analytics/summary', 'graph/show',
  'fleet/status'];
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
  diffs: [], diffAt: 0,     // graph/diff answers of the stages with a golden graph
  graphMs: null,            // the last map's data-to-first-frame time (tests read it)
  lastCapture: null,        // the last pcapng downloaded: { profile, size, exchanges }
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
  case 'fleet':
    html = err('fleet/status') ?? fleet(result('fleet/status'));
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

/** How often the golden-graph diffs are asked for while the map is shown. */
const DIFF_EVERY_MS = 5000;

/* graph/diff of every stage with a golden graph (not an /events topic:
 * asked for only while the map is shown). */
async function fetchDiffs() {
  S.diffAt = Date.now();
  const { status, body } = await api('graph/golden', { action: 'list' });
  if (status !== 200 || !body?.ok) return;
  const stages = [...new Set((body.result.golden ?? []).map((x) => x.stage))];
  const out = [];
  for (const stage of stages) {
    const d = await api('graph/diff', { stage });
    if (d.status === 200 && d.body?.ok) out.push(d.body.result);
  }
  if (JSON.stringify(out) !== JSON.stringify(S.diffs)) {
    S.diffs = out;
    schedule();
  }
}

function graphNote(g, m) {
  const edges = m.elements.filter((e) => e.data.source).length;
  const nodes = m.elements.length - edges;
  const gold = S.diffs.map((d) => `${F.esc(d.stage)} against golden v${F.num(d.golden_version)}` +
    ` (score ${Number(d.score ?? 0).toFixed(2)})`).join('; ');
  return `<p>${F.num(nodes)} nodes, ${F.num(edges)} edges in ${F.num(m.stages.length)} stages: ` +
    `${m.stages.map(F.esc).join(' · ')}</p>
    <p class="legend" id="graph-diff">${gold ? `Golden-graph diff: ${gold}:
      <span class="g-new">${F.num(m.diff.new)} new</span>,
      <span class="g-missing">${F.num(m.diff.missing)} missing</span>,
      <span class="g-changed">${F.num(m.diff.changed)} changed</span>.`
    : 'No golden graph (graph/golden action=save stage=…): no diff.'}
      Edges are coloured by the share of failed flows (green 0 → red 1).</p>`;
}

/* Fit the map from its nodes' positions: cy.fit() would first measure
 * every label (its bounding boxes), which a large map pays dearly. */
function fitPositions(cy, elements) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const e of elements) {
    if (!e.position) continue;
    x0 = Math.min(x0, e.position.x); x1 = Math.max(x1, e.position.x);
    y0 = Math.min(y0, e.position.y); y1 = Math.max(y1, e.position.y);
  }
  if (x0 === Infinity) return;
  const pad = 40, w = cy.width(), h = cy.height();
  const zoom = Math.min(2, (w - 2 * pad) / Math.max(1, x1 - x0), (h - 2 * pad) / Math.max(1, y1 - y0));
  cy.viewport({ zoom, pan: { x: (w - zoom * (x0 + x1)) / 2, y: (h - zoom * (y0 + y1)) / 2 } });
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
  if (Date.now() - S.diffAt > DIFF_EVERY_MS) fetchDiffs().catch(() => {});
  const t0 = performance.now();
  const m = V.graphElements(g, S.diffs);
  const t1 = performance.now();
  note.innerHTML = graphNote(g, m);
  const key = JSON.stringify([g, S.diffs]);
  if (key === S.cyKey) return;
  S.cyKey = key;
  if (!Cytoscape) Cytoscape = (await import('../vendor/cytoscape/cytoscape.esm.min.mjs')).default;
  if (S.cy) S.cy.destroy();
  const big = m.elements.length > 1500;
  // Labels cost most of a large map's start (each is measured): a map of
  // many nodes gets them once zoomed in far enough to read them.
  const manyNodes = m.elements.length - m.elements.filter((e) => e.data.source).length > 300;
  const label = { label: 'data(label)' };
  S.cy = Cytoscape({
    container: $('graph'), elements: m.elements, layout: { name: 'preset' },
    // Large maps: cached textures while panning and zooming, no edges then.
    textureOnViewport: true, hideEdgesOnViewport: big, pixelRatio: big ? 1 : 'auto',
    style: [
      { selector: 'node', style: { ...(manyNodes ? {} : label), 'font-size': 9,
        color: '#d8dee9', 'background-color': '#4c9be8', width: 10, height: 10,
        'min-zoomed-font-size': 7 } },
      { selector: 'edge', style: { width: 1, 'curve-style': 'haystack',
        'line-color': 'mapData(dev, 0, 1, #4caf50, #e05050)' } },
      { selector: 'edge[status = "new"]', style: { width: 2, 'line-color': '#f0a030' } },
      { selector: 'edge[status = "changed"]', style: { width: 2, 'line-color': '#b070e0' } },
      { selector: 'edge[status = "missing"]', style: { width: 2, 'line-style': 'dashed',
        'line-color': '#e05050' } },
    ],
  });
  fitPositions(S.cy, m.elements);
  if (manyNodes) {
    const cy = S.cy;
    const labels = () => {
      if (cy.zoom() * 9 < 7) return;
      cy.off('zoom', labels);
      cy.style().selector('node').style(label).update();
    };
    cy.on('zoom', labels);
    labels();
  }
  const t2 = performance.now();
  // Data to the first frame drawn (Cytoscape draws on animation frames).
  requestAnimationFrame(() => requestAnimationFrame(() => {
    S.graphMs = performance.now() - t0;
    S.graphSteps = { elements: t1 - t0, cytoscape: t2 - t1, frame: S.graphMs - (t2 - t0) };
  }));
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

/* A profile's evidence capture (shadow/capture) saved as PROFILE.pcapng. */
async function download(profile) {
  try {
    const { status, body } = await api('shadow/capture', { profile });
    if (status !== 200 || !body?.ok) {
      say(`shadow/capture: refused (${status}): ${body?.error?.message ?? ''}`, 'error');
      return;
    }
    const bin = F.fromBase64(body.result.pcapng_base64);
    const url = URL.createObjectURL(new Blob([bin], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${profile}.pcapng`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    S.lastCapture = { profile, size: bin.length, exchanges: body.result.exchanges,
      magic: Array.from(bin.slice(0, 4)) };
    say(`${profile}.pcapng: ${body.result.exchanges} mismatched exchanges, ` +
      `${F.bytes(bin.length)}`, 'ok');
  } catch (e) {
    say(`shadow/capture: ${e.message}`, 'error');
  }
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
  S.view = ['overview', 'releases', 'shadows', 'faults', 'analytics', 'graph', 'fleet']
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
  const c = e.target.closest('button.capture');
  if (c) download(c.dataset.profile);
});
S.redraw = schedule;        // tests feed data, then redraw
window.addEventListener('hashchange', () => show(location.hash.slice(1)));
signedIn();
show(location.hash.slice(1));
connect();
