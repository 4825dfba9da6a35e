// The views as HTML strings from the commands' answers (pure: no DOM, so
// node tests them too). Every value from the daemon goes through esc().
import {
  esc, num, bytes, rate, duration, share, pct, leaseLeft, topDrops, evidenceRows,
  shadowReport, kinds, latency, hexBytes, firstDifference, byteDiff,
} from './format.js';

const table = (head, rows, empty = 'none') => rows.length === 0
  ? `<p class="empty">${esc(empty)}</p>`
  : `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}` +
    '</tbody></table>';

/** A failed answer of a topic: its message; else null. */
export function failed(resp) {
  if (!resp) return null;
  if (resp.ok === false) return esc(resp.error?.message ?? 'failed');
  return null;
}

/** Overview: status, ports, stages, drops, workers (stats + rates). */
export function overview(status, stats, r, readOnly) {
  const s = status ?? {};
  const st = stats ?? {};
  const rr = r ?? { ports: {}, stages: {} };
  const head = readOnly
    ? '<p class="note" id="ro-note">Read-only: from the public /metrics. Sign in for ' +
      'releases, verdicts, shadows, faults and actions.</p>'
    : `<div class="cards">
        <div class="card"><b>generation</b><span id="ov-gen">${num(s.generation)}</span></div>
        <div class="card"><b>workers</b><span>${num(s.workers)}</span></div>
        <div class="card"><b>ports</b><span>${num(s.ports)}</span></div>
        <div class="card"><b>stages</b><span>${num(s.stages)}</span></div>
        <div class="card"><b>uptime</b><span id="ov-uptime">${duration(s.uptime_s)}</span></div>
        <div class="card"><b>version</b><span>${esc(s.version ?? '–')}</span></div>
      </div>`;
  const ports = Object.entries(st.ports ?? {}).map(([n, p]) => [
    esc(n), num(p.rx_pkts), rate(rr.ports[n]?.rx_pps), bytes(p.rx_bytes), num(p.tx_pkts),
    rate(rr.ports[n]?.tx_pps), bytes(p.tx_bytes), num(p.tx_dropped)]);
  const stages = Object.entries(st.stages ?? {}).map(([n, x]) => [
    esc(n), num(x.pkts), rate(rr.stages[n]?.pps), bytes(x.bytes), num(x.flows)]);
  const drops = topDrops(st.drops, 12).map(([k, v]) => [esc(k), num(v)]);
  const workers = (st.workers ?? []).map((w) => [
    num(w.worker), w.lcore === undefined ? '–' : num(w.lcore), num(w.pkts),
    w.loops ? pct((w.bursts ?? 0) / w.loops) : '–']);
  return `${head}
    <h3>Ports</h3>${table(['port', 'rx pkts', 'rx rate', 'rx bytes', 'tx pkts', 'tx rate',
      'tx bytes', 'tx dropped'], ports)}
    <h3>Stages</h3>${table(['stage', 'packets', 'rate', 'bytes', 'flows'], stages)}
    <h3>Drops by reason</h3>${table(['reason', 'packets'], drops, 'no drops')}
    <h3>Workers</h3>${table(['worker', 'lcore', 'packets', 'busy polls'], workers)}`;
}

/** Releases: per service, where each version runs, the canary, verdict, history. */
export function releases(wf, verdicts, history, canAct) {
  const services = wf?.services ?? [];
  // manual_approval is taken in the stage before the one it leads to.
  const pipe = wf?.pipeline ?? [];
  const ai = pipe.findIndex((p) => p.on === 'manual_approval');
  const approveIn = ai > 0 ? pipe[ai - 1].stage : null;
  const vlist = verdicts?.releases ?? [];
  const out = [];
  if (services.length === 0) out.push('<p class="empty">no services</p>');
  for (const svc of services) {
    const name = svc.service;
    const stages = (svc.stages ?? []).map((x) => [esc(x.stage), esc(x.version ?? '–'),
      esc(x.backend ?? ''), x.canary ? `${esc(x.canary.version)} on ${esc(x.canary.backend)}
        <span class="share" data-service="${esc(name)}">${share(x.canary.bp)}</span>` : '']);
    const rels = (svc.releases ?? []).map((r) => [esc(r.version), esc(r.stage),
      `<span class="status s-${esc(r.status)}">${esc(r.status)}</span>`, esc(r.committed ?? ''),
      !canAct ? '<span class="muted">sign in to act</span>' : [
        r.status !== 'rolled_back' ? `<button class="act" data-act="rollback"
          data-service="${esc(name)}" data-version="${esc(r.version)}">Roll back</button>` : '',
        r.stage === approveIn ? `<button class="act" data-act="approve"
          data-service="${esc(name)}" data-version="${esc(r.version)}">Approve</button>` : '',
      ].join(' ')]);
    const v = vlist.find((x) => x.service === name);
    out.push(`<section class="service" data-service="${esc(name)}">
      <h3>${esc(name)}</h3>
      ${table(['stage', 'version', 'backend', 'canary'], stages)}
      <h4>Releases</h4>${table(['version', 'stage', 'status', 'committed', ''], rels, 'no release')}
      ${v ? verdict(v) : '<p class="muted">no verdict: no canary under judgement</p>'}
    </section>`);
  }
  const hist = (Array.isArray(history) ? history : []).map((t) => [num(t.id),
    esc(t.service), esc(t.version ?? ''), esc(t.event), `${esc(t.from_stage || '–')} → ${esc(t.to_stage)}`,
    esc(t.status), esc(t.started ?? '')]);
  out.push(`<h3>History</h3>${table(['id', 'service', 'version', 'event', 'stages', 'status',
    'started'], hist, 'no transitions')}`);
  return out.join('\n');
}

/** One release's verdict with its evidence and traffic floors. */
export function verdict(v) {
  const rows = evidenceRows(v.metrics).map((r) => [esc(r.metric),
    `<span class="ev ev-${r.state}">${r.state}</span>`, esc(r.canary), esc(r.control),
    `${esc(r.evalue)} / ${esc(r.threshold)} <meter min="0" max="1" value="${r.progress.toFixed(3)}"></meter>`,
    r.floor === null ? '–' : `${num(r.floor)} ${r.floorMet ? '✓' : '(not yet)'}`]);
  return `<div class="verdict v-${esc(v.verdict)}">
    <h4>Verdict: <span class="vname">${esc(String(v.verdict).toUpperCase())}</span>
      <small>${esc(v.canary)} vs ${esc(v.control)}, baked ${duration(v.baked_s)}</small></h4>
    <p class="reason">${esc(v.reason ?? '')}${v.metric ? ` (metric ${esc(v.metric)}` +
      `${v.detect_ms !== undefined ? `, detected in ${num(v.detect_ms)} ms` : ''})` : ''}</p>
    ${table(['metric', 'state', 'canary bad/n', 'control bad/n', 'e-value / threshold',
      'traffic floor'], rows, 'no evidence yet')}
  </div>`;
}

/** Shadows: per profile and endpoint, matches, mismatches by kind, noise, latency. */
export function shadows(status) {
  const profiles = status?.profiles ?? [];
  if (profiles.length === 0) return '<p class="empty">no shadow profiles</p>';
  return profiles.map((p) => {
    const r = shadowReport(p) ?? {};
    const eps = (r.endpoints ?? []).map((e) => [esc(e.endpoint), num(e.compared), num(e.matches),
      num(e.mismatches), esc(kinds(e.mismatch_kinds)), num(e.noisy),
      esc(latency(e.latency_us?.production)), esc(latency(e.latency_us?.shadow))]);
    return `<section class="profile"><h3>${esc(p.name ?? '?')}
        <small>${esc(p.network ?? p.stage ?? '')} ${esc(p.state ?? '')}</small></h3>
      <div class="cards">
        <div class="card"><b>compared</b><span>${num(r.compared)}</span></div>
        <div class="card"><b>matches</b><span>${num(r.matches)}</span></div>
        <div class="card"><b>mismatches</b><span>${num(r.mismatches)}</span></div>
        <div class="card"><b>noisy</b><span>${num(r.noisy)}</span></div>
      </div>
      <p>mismatches by kind: ${esc(kinds(r.mismatch_kinds))}; noise: ${esc(kinds(r.noise_kinds))}</p>
      <p>latency production ${esc(latency(r.latency_us?.production))}, shadow
        ${esc(latency(r.latency_us?.shadow))}</p>
      ${table(['endpoint', 'compared', 'matches', 'mismatches', 'kinds', 'noisy',
        'latency prod', 'latency shadow'], eps, 'no endpoint yet')}
      ${capture(p.name, r.capture)}
      ${samples(r.samples)}
    </section>`;
  }).join('\n');
}

/** The profile's evidence capture (pcapng of its mismatches) and its download. */
export function capture(name, c) {
  const what = c ? `${num(c.exchanges)} mismatched exchanges, ${bytes(c.bytes)}` +
    ` (${num(c.dropped)} dropped for room, ${num(c.without_evidence)} without evidence)`
    : 'not reported by this umbra';
  return `<p class="capture">Capture: ${what}
    <button class="capture" data-profile="${esc(name ?? '')}">Download pcapng</button></p>`;
}

/** One side's bytes as a hex dump, the bytes that differ from the other's marked. */
function dump(title, bytes, other) {
  const d = byteDiff(bytes, other);
  const lines = d.lines.map((l) => {
    const cell = (c, text) => `<span class="${c.first ? 'b-first' : c.diff ? 'b-diff' : ''}"` +
      `>${esc(text)}</span>`;
    return `<div><span class="b-off">${l.offset.toString(16).padStart(4, '0')}</span> ` +
      `${l.cells.map((c) => cell(c, c.hex)).join(' ')}${'   '.repeat(16 - l.cells.length)}  ` +
      `<span class="b-asc">${l.cells.map((c) => cell(c, c.ch)).join('')}</span></div>`;
  });
  return `<div class="bytes"><b>${esc(title)} (${num(bytes.length)} bytes)</b>` +
    `<pre>${lines.join('')}</pre></div>`;
}

/** Mismatch samples (newest first): what differed and, when kept, both answers' first bytes. */
export function samples(list, max = 5) {
  if (!list?.length) return '<p class="empty">no mismatch samples</p>';
  return `<h4>Mismatch samples <small>(newest first, ${num(Math.min(max, list.length))} of
    ${num(list.length)})</small></h4>` + list.slice(0, max).map((s) => {
    const prod = hexBytes(s.production?.head), shadow = hexBytes(s.shadow?.head);
    const side = (x) => `${esc(x?.status ?? '–')}, ${num(x?.size)} B, ${num(x?.latency_us)} µs` +
      `${x?.flags?.length ? ' (' + esc(x.flags.join(', ')) + ')' : ''}`;
    const first = firstDifference(prod, shadow);
    const head = `<p class="sample-head"><b>${esc(s.method ?? '')} ${esc(s.path ?? '')}</b>
      flow ${esc(s.flow_id)} #${esc(s.exchange)}: ${esc((s.kinds ?? []).join(', '))};
      production ${side(s.production)}, shadow ${side(s.shadow)}</p>`;
    if (!prod || !shadow)
      return `<div class="sample">${head}<p class="note">bytes not kept for this exchange
        (a sample of flows carries them)</p></div>`;
    return `<div class="sample">${head}<p class="first-diff">${first === null
      ? 'the first bytes are equal (the difference lies beyond them)'
      : `first difference at byte ${num(first)}`}</p>
      <div class="dumps">${dump('production', prod, shadow)}${dump('shadow', shadow, prod)}</div>
    </div>`;
  }).join('');
}

/** Faults and chaos: active rules with the time left, scenarios to start/stop. */
export function faults(fl, cl, nowS, canAct) {
  const rules = (fl?.rules ?? []).map((r) => [num(r.id), esc(r.name), esc(r.kind), esc(r.origin),
    esc(r.target?.stage ?? 'any'), `<span class="lease">${esc(leaseLeft(r.until, nowS))}</span>`,
    num(r.counters?.matched), num(r.counters?.touched),
    canAct && r.origin === 'runtime' ? `<button class="act" data-act="fault-clear"
      data-id="${esc(r.id)}">Clear</button>` : '']);
  const running = new Map((cl?.running ?? []).map((c) => [c.name, c]));
  const defined = (cl?.defined ?? []).map((c) => {
    const run = running.get(c.name);
    return [esc(c.name), esc(c.description ?? ''), duration(c.duration_s), num(c.faults),
      run ? `<span class="lease">running, ${duration(run.remaining_s)} left</span>` : 'idle',
      !canAct ? '' : run
        ? `<button class="act" data-act="chaos-stop" data-name="${esc(c.name)}">Stop</button>`
        : `<button class="act" data-act="chaos-start" data-name="${esc(c.name)}">Start</button>`];
  });
  return `<h3>Active fault rules</h3>${table(['id', 'name', 'kind', 'origin', 'stage',
    'lease left', 'matched', 'touched', ''], rules, 'no fault rules')}
    <h3>Chaos scenarios</h3>${table(['name', 'description', 'duration', 'faults', 'state', ''],
      defined, 'no scenarios defined')}`;
}

/** Analytics: changes validated, predictions, rollbacks, time to rollback, causes. */
export function analytics(a) {
  if (!a) return '<p class="empty">no analytics yet</p>';
  const causes = (a.root_causes ?? []).map((c) => [esc(c.metric ?? c.cause ?? '?'),
    esc(c.service ?? ''), num(c.count ?? c.n)]);
  return `<div class="cards">
      <div class="card"><b>releases</b><span>${num(a.releases)}</span></div>
      <div class="card"><b>changes validated</b><span>${num(a.changes_validated)}</span></div>
      <div class="card"><b>rollbacks</b><span>${num(a.rollbacks)}</span></div>
      <div class="card"><b>automatic</b><span>${num(a.automatic_rollbacks)}</span></div>
      <div class="card"><b>predictions judged</b><span>${num(a.predictions_judged)}/${num(a.predictions)}</span></div>
      <div class="card"><b>precision</b><span>${pct(a.precision)}</span></div>
      <div class="card"><b>recall</b><span>${pct(a.recall)}</span></div>
      <div class="card"><b>time to rollback p50/p95</b><span>${
        a.time_to_rollback_ms?.p50 == null ? '–' : num(a.time_to_rollback_ms.p50) + ' ms'} / ${
        a.time_to_rollback_ms?.p95 == null ? '–' : num(a.time_to_rollback_ms.p95) + ' ms'}</span></div>
    </div>
    <h3>Root causes</h3>${table(['metric', 'service', 'count'], causes, 'none recorded')}`;
}

/** Nodes of one stage per sub-column: a stage of 1000 stays readable. */
const COLUMN_NODES = 40;

/* The key of an edge in graph/show and in graph/diff alike. */
const edgeKey = (e) => [e.stage ?? '', e.client ?? e.from ?? e.source,
  e.server ?? e.to ?? e.target, e.port ?? ''].join('|');

/**
 * The dependency map's answer as Cytoscape elements, nodes in stage
 * columns. Takes { edges: [{ stage, client|from|source, server|to|target,
 * deviation|score?, status? }] } (or nodes + edges); unknown shapes give
 * no element. @p diffs: graph/diff answers (against the golden graph):
 * their new and changed edges mark the map's (status), their missing
 * ones are added (status "missing").
 */
export function graphElements(g, diffs = []) {
  const edges = Array.isArray(g?.edges) ? g.edges
    : Array.isArray(g?.stages) ? g.stages.flatMap((s) => (s.edges ?? []).map((e) =>
      ({ stage: s.stage ?? s.name, ...e }))) : [];
  const change = new Map(), missing = [];
  for (const d of Array.isArray(diffs) ? diffs : []) {
    for (const e of Array.isArray(d?.edges) ? d.edges : []) {
      const x = { stage: d.stage, ...e };
      if (e.change === 'missing') missing.push(x);
      else if (e.change === 'new' || e.change === 'changed') change.set(edgeKey(x), e.change);
    }
  }
  const nodes = new Map(), els = [], stages = [];
  const node = (id, stage) => {
    if (!nodes.has(id)) {
      if (!stages.includes(stage)) stages.push(stage);
      nodes.set(id, { data: { id, label: id.slice(stage.length + 1), stage } });
    }
    return id;
  };
  const edge = (e, i, status) => {
    const stage = String(e.stage ?? '');
    const s = e.client ?? e.from ?? e.source, t = e.server ?? e.to ?? e.target;
    if (s === undefined || t === undefined) return;
    const sid = node(`${stage}:${s}`, stage), tid = node(`${stage}:${t}`, stage);
    // graph/show has no deviation score per edge: the share of its
    // flows that failed (errors and resets) stands in until it does.
    const bad = (Number(e.errors) || 0) + (Number(e.resets) || 0);
    const dev = Number(e.deviation ?? e.score ??
      (Number(e.flows) > 0 ? Math.min(1, bad / Number(e.flows)) : 0));
    els.push({ data: { id: `e${i}`, source: sid, target: tid, dev,
      status: status ?? String(e.status ?? e.diff ?? '') } });
  };
  edges.forEach((e, i) => edge(e, i, change.get(edgeKey({ ...e, stage: e.stage ?? '' }))));
  missing.forEach((e, i) => edge(e, `m${i}`, 'missing'));
  // Stage columns, each as many sub-columns as its nodes need.
  const perStage = new Map(), width = new Map();
  for (const n of nodes.values()) perStage.set(n.data.stage, (perStage.get(n.data.stage) ?? 0) + 1);
  let x = 0;
  for (const st of stages) {
    width.set(st, x);
    x += 320 + Math.max(0, Math.ceil(perStage.get(st) / COLUMN_NODES) - 1) * 160;
  }
  const seen = new Map();
  for (const n of nodes.values()) {
    const k = seen.get(n.data.stage) ?? 0;
    seen.set(n.data.stage, k + 1);
    n.position = { x: width.get(n.data.stage) + Math.floor(k / COLUMN_NODES) * 160,
      y: (k % COLUMN_NODES) * 40 };
  }
  const count = (st) => els.filter((e) => e.data.status === st).length;
  return { elements: [...nodes.values(), ...els], stages,
    diff: { new: count('new'), missing: count('missing'), changed: count('changed') } };
}
