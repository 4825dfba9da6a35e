// node --test: the dashboard's pure helpers (ui/js/format.js, ui/js/views.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../../ui/js/format.js';
import * as V from '../../../ui/js/views.js';

test('esc escapes what HTML would interpret', () => {
  assert.equal(F.esc('<img src=x onerror="a()">&\''), '&lt;img src=x onerror=&quot;a()&quot;&gt;&amp;&#39;');
  assert.equal(F.esc(null), '');
});

test('numbers, bytes, rates, durations, shares', () => {
  assert.equal(F.num(1234567), '1,234,567');
  assert.equal(F.num(undefined), '–');
  assert.equal(F.bytes(1536), '1.5 KiB');
  assert.equal(F.bytes(10), '10 B');
  assert.equal(F.rate(12345), '12.3k/s');
  assert.equal(F.rate(2.5e6), '2.5M/s');
  assert.equal(F.rate(0), '0/s');
  assert.equal(F.duration(9), '9s');
  assert.equal(F.duration(249), '4m 09s');
  assert.equal(F.duration(7500), '2h 05m');
  assert.equal(F.duration(3 * 86400 + 4 * 3600), '3d 4h');
  assert.equal(F.share(1000), '10%');
  assert.equal(F.share(250), '2.5%');
  assert.equal(F.pct(0.025), '2.5%');
  assert.equal(F.leaseLeft(null, 100), 'permanent');
  assert.equal(F.leaseLeft(160, 100), '1m 00s');
  assert.equal(F.leaseLeft(90, 100), 'expired');
});

test('Prometheus text to stats', () => {
  const p = F.parseProm(`# HELP x y
umbra_generation 3
umbra_port_rx_packets_total{port="gen"} 10
umbra_port_rx_packets_total{port="a\\"b"} 2
umbra_stage_packets_total{stage="production"} 7
umbra_drops_total{reason="policy_deny"} 4
garbage line here
`);
  assert.equal(p.umbra_generation[0].value, 3);
  assert.equal(p.umbra_port_rx_packets_total[1].labels.port, 'a"b');
  const st = F.statsFromProm(p);
  assert.equal(st.generation, 3);
  assert.equal(st.ports.gen.rx_pkts, 10);
  assert.equal(st.stages.production.pkts, 7);
  assert.deepEqual(F.topDrops(st.drops), [['policy_deny', 4]]);
});

test('rates between two stats answers; counters that went back give none', () => {
  const a = { time_s: 10, ports: { p: { rx_pkts: 100, tx_pkts: 0 } }, stages: { s: { pkts: 5 } },
    drops: { x: 1 } };
  const b = { time_s: 12, ports: { p: { rx_pkts: 300, tx_pkts: 0 } }, stages: { s: { pkts: 1 } },
    drops: { x: 5 } };
  const r = F.rates(a, b);
  assert.equal(r.ports.p.rx_pps, 100);
  assert.equal(r.stages.s.pps, null);
  assert.equal(r.drops_ps, 2);
  assert.deepEqual(F.rates(null, b).ports, {});
});

test('verdict evidence: worst first, progress toward the threshold, traffic floor', () => {
  const rows = F.evidenceRows({
    http_5xx: { observed: true, failed: false, suspicious: false, canary_n: 500, canary_bad: 1,
      control_n: 4500, control_bad: 9, canary_rate: 0.002, control_rate: 0.002, e_value: 1,
      threshold: 20, traffic_floor: 400 },
    resets: { observed: true, failed: true, suspicious: true, canary_n: 100, canary_bad: 30,
      control_n: 900, control_bad: 2, canary_rate: 0.3, control_rate: 0.0022, e_value: 1e300,
      threshold: 20, traffic_floor: null },
  });
  assert.equal(rows[0].metric, 'resets');
  assert.equal(rows[0].state, 'failed');
  assert.equal(rows[0].progress, 1);
  assert.equal(rows[0].evalue, '≥1e300');
  assert.equal(rows[0].floor, null);
  assert.equal(rows[1].floorMet, true);
  assert.equal(rows[1].canary, '1/500 (0.20%)');
  const html = V.verdict({ service: 'web', canary: 'v2', control: 'v1', verdict: 'rollback',
    reason: 'resets <b>', baked_s: 12, metric: 'resets', detect_ms: 800, metrics: {} });
  assert.match(html, /ROLLBACK/);
  assert.match(html, /resets &lt;b&gt;/);
  assert.match(html, /detected in 800 ms/);
});

test('releases view: buttons only with the token, approve only where approval is taken', () => {
  const wf = { pipeline: [{ stage: 'staging', on: 'test_completion' },
    { stage: 'production', on: 'manual_approval' }],
  services: [{ service: 'web', stages: [{ stage: 'production', version: 'v1', backend: 'blue',
    canary: { version: 'v2', backend: 'green', bp: 1000 } }],
  releases: [{ version: 'v2', stage: 'production', status: 'rolling_out' },
    { version: 'v3', stage: 'staging', status: 'in_stage' }] }] };
  const html = V.releases(wf, { releases: [] }, [], true);
  assert.match(html, /10%/);
  assert.equal((html.match(/data-act="rollback"/g) ?? []).length, 2);
  assert.equal((html.match(/data-act="approve"/g) ?? []).length, 1);
  assert.doesNotMatch(V.releases(wf, null, [], false), /data-act/);
});

test('graph elements: stage columns, edges coloured by failed share', () => {
  const { elements, stages } = V.graphElements({ edges: [
    { stage: 'production', client: 'web', server: 'db', flows: 10, errors: 5, resets: 0 },
    { stage: 'staging', client: 'web', server: 'db', flows: 0 },
    { stage: 'staging', nope: 1 },
  ] });
  assert.deepEqual(stages, ['production', 'staging']);
  const edges = elements.filter((e) => e.data.source);
  assert.equal(edges.length, 2);
  assert.equal(edges[0].data.dev, 0.5);
  const nodes = elements.filter((e) => !e.data.source);
  assert.equal(nodes.length, 4);
  assert.equal(nodes.find((n) => n.data.id === 'staging:web').position.x, 320);
  assert.deepEqual(V.graphElements(null).elements, []);
});

test('faults view: lease left and chaos start/stop', () => {
  const html = V.faults({ rules: [{ id: 6, name: 'delay', kind: 'delay', origin: 'runtime',
    target: { stage: 'staging' }, until: 160, counters: { matched: 1, touched: 1 } }] },
  { defined: [{ name: 'db-overload', duration_s: 10, faults: 2 }],
    running: [{ name: 'db-overload', remaining_s: 5 }] }, 100, true);
  assert.match(html, /1m 00s/);
  assert.match(html, /data-act="chaos-stop"/);
  assert.match(html, /data-act="fault-clear"/);
});

test('graph: the golden-graph diff marks new and changed edges and adds missing ones', () => {
  const m = V.graphElements({ edges: [
    { stage: 'production', client: 'web', server: 'db', port: 5432, flows: 3 },
    { stage: 'production', client: 'web', server: 'cache', port: 6379, flows: 3 },
    { stage: 'production', client: 'api', server: 'db', port: 5432, flows: 3 },
  ] }, [{ stage: 'production', golden_version: 2, edges: [
    { client: 'web', server: 'cache', port: 6379, change: 'new' },
    { client: 'api', server: 'db', port: 5432, change: 'changed' },
    { client: 'web', server: 'queue', port: 5672, change: 'missing' },
    { client: 'web', server: 'db', port: 9999, change: 'new' }, // another port: not this edge
  ] }]);
  const edges = m.elements.filter((e) => e.data.source);
  const st = (s, t) => edges.find((e) => e.data.source === `production:${s}` &&
    e.data.target === `production:${t}`)?.data.status;
  assert.equal(st('web', 'db'), '');
  assert.equal(st('web', 'cache'), 'new');
  assert.equal(st('api', 'db'), 'changed');
  assert.equal(st('web', 'queue'), 'missing');
  assert.deepEqual(m.diff, { new: 1, missing: 1, changed: 1 });
  // The missing edge's server is a node of the map too.
  assert.ok(m.elements.some((e) => e.data.id === 'production:queue'));
  assert.deepEqual(V.graphElements({ edges: [] }, null).diff, { new: 0, missing: 0, changed: 0 });
});

test('graph: a stage of many nodes spreads over sub-columns, the next stage after them', () => {
  const edges = [];
  for (let i = 0; i < 100; i++) edges.push({ stage: 'a', client: 'c', server: `s${i}` });
  edges.push({ stage: 'b', client: 'x', server: 'y' });
  const m = V.graphElements({ edges });
  const pos = (id) => m.elements.find((e) => e.data.id === id).position;
  const ys = m.elements.filter((e) => e.data.stage === 'a').map((e) => e.position.y);
  assert.ok(Math.max(...ys) < 40 * 40, 'no column taller than 40 nodes');
  assert.ok(pos('b:x').x > Math.max(...m.elements.filter((e) => e.data.stage === 'a')
    .map((e) => e.position.x)));
});

test('shadows: the capture line and its download button', () => {
  const html = V.shadows({ profiles: [{ name: 'web<v2>', comparison: { compared: 1,
    capture: { exchanges: 3, bytes: 2048, dropped: 1, without_evidence: 2 } } }] });
  assert.match(html, /3 mismatched exchanges, 2\.0 KiB \(1 dropped for room, 2 without evidence\)/);
  assert.match(html, /<button class="capture" data-profile="web&lt;v2&gt;">Download pcapng<\/button>/);
  assert.match(V.capture('x', undefined), /not reported/);
});

test('fromBase64: a command\'s binary answer as bytes', () => {
  assert.deepEqual(Array.from(F.fromBase64('Cg0NCg==')), [0x0a, 0x0d, 0x0d, 0x0a]);
  assert.equal(F.fromBase64(undefined).length, 0);
});
