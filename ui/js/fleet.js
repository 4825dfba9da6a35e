// The fleet view (fleet/status): etcd, the leader, every member with its
// generation and lag, the leader's log, the cohorts' evidence summed over
// members, and rollbacks decided. Pure (an HTML string), so node tests it
// too; every value from the daemon goes through esc().
import { esc, num, pct } from './format.js';

const table = (head, rows, empty = 'none') => rows.length === 0
  ? `<p class="empty">${esc(empty)}</p>`
  : `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}` +
    '</tbody></table>';

const yes = (b) => (b ? 'yes' : '<b class="bad">no</b>');

function members(f) {
  return (f.members ?? []).map((m) => [
    `${esc(m.id)}${m.is_leader ? ' <b>(leader)</b>' : ''}`,
    num(m.generation), num(m.config_revision), yes(m.in_sync),
    num(m.lag_revisions), m.log_lag ? '<b class="bad">behind</b>' : 'followed',
    m.refused ? esc(m.refused.reason) : '–',
  ]);
}

function evidence(f) {
  const rows = [];
  for (const [svc, e] of Object.entries(f.evidence ?? {})) {
    for (const [metric, m] of Object.entries(e.metrics ?? {})) {
      rows.push([esc(svc), esc(e.canary), esc(e.control), esc(metric),
        `${num(m.canary_bad)} / ${num(m.canary_n)} (${pct(m.canary_rate)})`,
        `${num(m.control_bad)} / ${num(m.control_n)} (${pct(m.control_rate)})`,
        esc((e.members ?? []).join(', '))]);
    }
  }
  return rows;
}

/** The fleet view from fleet/status's answer. */
export function fleet(f) {
  if (!f) return '<p class="empty">waiting for fleet/status…</p>';
  if (!f.enabled) {
    return '<p class="empty" id="fleet-standalone">Standalone: this umbra has no ' +
      '<code>fleet:</code> section.</p>';
  }
  const e = f.etcd ?? {};
  const lead = f.leadership ?? {};
  const log = (f.log ?? []).slice(0, 10).map((l) => [
    num(l.revision), esc(l.event), esc(l.service), esc(l.version), esc(l.from),
    esc(l.leader), esc(l.here), `${num(l.delay_ms)} ms`]);
  const dec = (f.decisions ?? []).map((d) => [
    esc(d.service), esc(d.version), esc(d.from), esc(d.result), `${num(d.delay_ms)} ms`]);
  return `<div class="cards" id="fleet-cards">
      <div class="card"><b>member</b><span>${esc(f.id)}</span></div>
      <div class="card"><b>etcd</b><span id="fleet-etcd">${e.reachable ? 'connected'
        : '<b class="bad">disconnected</b>'}</span></div>
      <div class="card"><b>leader</b><span id="fleet-leader">${esc(f.leader ?? 'none')}</span></div>
      <div class="card"><b>members</b><span>${num((f.members ?? []).length)}</span></div>
      <div class="card"><b>generation</b><span>${num(f.generation)}</span></div>
      <div class="card"><b>desired rev.</b><span>${num(f.config?.revision)}</span></div>
    </div>
    ${e.reachable ? '' : `<p class="note">etcd unreachable (${esc(e.last_error ?? '')}):
      forwarding on the last generation; resync when it returns.</p>`}
    <p class="note">Last failover ${num(Math.round(lead.last_failover_ms ?? 0))} ms;
      ${num(lead.events_waiting)} event(s) waiting for the leader.</p>
    <h3>Members</h3>${table(['member', 'generation', 'config rev.', 'in sync',
      'lag (revisions)', 'leader log', 'refused'], members(f))}
    <h3>Evidence, summed over members</h3>${table(['service', 'canary', 'control', 'metric',
      'canary bad / n', 'control bad / n', 'members'], evidence(f), 'no release under judgement')}
    <h3>Leader's log</h3>${table(['rev.', 'event', 'service', 'version', 'sent to',
      'leader', 'here', 'delay'], log)}
    <h3>Rollbacks decided</h3>${table(['service', 'version', 'decided by', 'here', 'delay'],
      dec)}`;
}
