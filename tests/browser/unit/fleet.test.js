// node --test: the fleet view (ui/js/fleet.js) from fleet/status answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleet } from '../../../ui/js/fleet.js';

const status = {
  enabled: true, id: 'rack-a', leader: 'rack-b', generation: 7,
  etcd: { reachable: true }, leadership: { last_failover_ms: 3120, events_waiting: 0 },
  config: { revision: 12 },
  members: [
    { id: 'rack-a', generation: 7, config_revision: 12, in_sync: true, lag_revisions: 0 },
    { id: 'rack-b', generation: 6, config_revision: 10, in_sync: false, lag_revisions: 2,
      is_leader: true, log_lag: true, refused: { reason: 'port <sink> differs' } },
  ],
  evidence: { web: { canary: 'v2', control: 'v1', members: ['rack-a', 'rack-b'],
    metrics: { http_5xx: { canary_n: 40, canary_bad: 4, control_n: 400, control_bad: 2,
      canary_rate: 0.1, control_rate: 0.005 } } } },
  log: [{ revision: 40, event: 'code_commit', service: 'web', version: 'v2', from: 'rack-a',
    leader: 'rack-b', here: 'followed', delay_ms: 31 }],
  decisions: [{ service: 'web', version: 'v2', from: 'rack-c', result: 'rolled back',
    delay_ms: 60 }],
};

test('members, leader, lag, evidence and the log show', () => {
  const html = fleet(status);
  assert.match(html, /id="fleet-leader">rack-b</);
  assert.match(html, /rack-b <b>\(leader\)<\/b>/);
  assert.match(html, /<td>2<\/td>/);                 // lag in revisions
  assert.match(html, /behind/);
  assert.match(html, /4 \/ 40 \(10(\.0)?%\)/);          // summed canary evidence
  assert.match(html, /rack-a, rack-b/);
  assert.match(html, /followed/);
  assert.match(html, /rolled back/);
  assert.match(html, /port &lt;sink&gt; differs/);   // escaped
});

test('etcd lost: disconnected, forwarding on the last generation', () => {
  const html = fleet({ ...status, etcd: { reachable: false, last_error: 'range: <timeout>' } });
  assert.match(html, /disconnected/);
  assert.match(html, /last generation/);
  assert.doesNotMatch(html, /<timeout>/);
});

test('standalone and no answer yet', () => {
  assert.match(fleet({ enabled: false }), /Standalone/);
  assert.match(fleet(undefined), /waiting/);
});
