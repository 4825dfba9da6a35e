// Pure helpers of the dashboard: formatting, Prometheus text, rates,
// verdict evidence. No DOM: tested with `node --test` (tests/browser/unit).

/** Text made safe inside HTML (element content and quoted attributes). */
export function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

/** 1234567 -> "1,234,567"; null/undefined/NaN -> "–". */
export function num(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '–';
  return Number(n).toLocaleString('en-US', {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  });
}

/** Bytes with a binary unit: 1536 -> "1.5 KiB". */
export function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Number(n), i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(Math.round(v)) : v.toFixed(1)) + ' ' + units[i];
}

/** A per-second rate with an SI suffix: 12345 -> "12.3k/s". */
export function rate(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(1) + 'G/s';
  if (a >= 1e6) return (n / 1e6).toFixed(1) + 'M/s';
  if (a >= 1e3) return (n / 1e3).toFixed(1) + 'k/s';
  return (a < 10 && a > 0 ? n.toFixed(1) : String(Math.round(n))) + '/s';
}

/** Seconds as "3d 4h", "2h 05m", "4m 09s", "9s"; null -> "–". */
export function duration(s) {
  if (s === null || s === undefined || !Number.isFinite(Number(s))) return '–';
  s = Math.max(0, Math.round(Number(s)));
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
  const m = Math.floor(s % 3600 / 60), sec = s % 60;
  const two = (x) => String(x).padStart(2, '0');
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${two(m)}m`;
  if (m) return `${m}m ${two(sec)}s`;
  return `${sec}s`;
}

/** A canary's share in basis points of a percent (1000 -> "10%"). */
export function share(bp) {
  if (bp === null || bp === undefined) return '–';
  const pct = Number(bp) / 100;
  return (Number.isInteger(pct) ? String(pct) : pct.toFixed(2).replace(/0+$/, '')) + '%';
}

/** A fraction as a percentage with @p digits decimals (0.025 -> "2.5%"). */
export function pct(x, digits = 1) {
  if (x === null || x === undefined || !Number.isFinite(Number(x))) return '–';
  return (Number(x) * 100).toFixed(digits) + '%';
}

/** Time left on a lease: until (epoch s) minus now; null until: "permanent". */
export function leaseLeft(until, nowS) {
  if (until === null || until === undefined) return 'permanent';
  const left = Number(until) - nowS;
  return left <= 0 ? 'expired' : duration(left);
}

/**
 * Prometheus text exposition to { name: [{ labels: {k: v}, value }] }.
 * Comments and malformed lines are skipped.
 */
export function parseProm(text) {
  const out = {};
  const re = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  for (const line of String(text).split('\n')) {
    if (line === '' || line[0] === '#') continue;
    const m = re.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[2]) {
      const lre = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l;
      while ((l = lre.exec(m[2])) !== null)
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    }
    const value = Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') continue;
    (out[m[1]] ??= []).push({ labels, value });
  }
  return out;
}

/**
 * What /metrics says, in the shape of the `stats` command's answer (the
 * parts the overview shows): what a reader without the token may see.
 */
export function statsFromProm(p) {
  const by = (name, label, field, into) => {
    for (const s of p[name] ?? []) {
      const k = s.labels[label];
      if (k === undefined) continue;
      (into[k] ??= {})[field] = s.value;
    }
  };
  const st = { ports: {}, stages: {}, drops: {}, workers: [] };
  by('umbra_port_rx_packets_total', 'port', 'rx_pkts', st.ports);
  by('umbra_port_rx_bytes_total', 'port', 'rx_bytes', st.ports);
  by('umbra_port_tx_packets_total', 'port', 'tx_pkts', st.ports);
  by('umbra_port_tx_bytes_total', 'port', 'tx_bytes', st.ports);
  by('umbra_port_tx_dropped_total', 'port', 'tx_dropped', st.ports);
  by('umbra_stage_packets_total', 'stage', 'pkts', st.stages);
  by('umbra_stage_bytes_total', 'stage', 'bytes', st.stages);
  by('umbra_stage_flows_total', 'stage', 'flows', st.stages);
  for (const s of p.umbra_drops_total ?? [])
    if (s.labels.reason !== undefined) st.drops[s.labels.reason] = s.value;
  const workers = {};
  by('umbra_worker_packets_total', 'worker', 'pkts', workers);
  for (const [w, v] of Object.entries(workers)) st.workers.push({ worker: Number(w), ...v });
  const gen = p.umbra_generation?.[0]?.value;
  if (gen !== undefined) st.generation = gen;
  return st;
}

/**
 * Per-second rates between two `stats` answers (by time_s, or @p dt
 * seconds): { ports: {name: {rx_pps, tx_pps, rx_bps, tx_bps}},
 * stages: {name: {pps}}, drops_ps }.
 */
export function rates(prev, cur, dt) {
  const out = { ports: {}, stages: {}, drops_ps: null };
  if (!prev || !cur) return out;
  const t = dt ?? ((cur.time_s ?? 0) - (prev.time_s ?? 0));
  if (!(t > 0)) return out;
  const d = (a, b) => (a === undefined || b === undefined || b < a) ? null : (b - a) / t;
  for (const [n, c] of Object.entries(cur.ports ?? {})) {
    const p = prev.ports?.[n] ?? {};
    out.ports[n] = {
      rx_pps: d(p.rx_pkts, c.rx_pkts), tx_pps: d(p.tx_pkts, c.tx_pkts),
      rx_bps: d(p.rx_bytes, c.rx_bytes), tx_bps: d(p.tx_bytes, c.tx_bytes),
    };
  }
  for (const [n, c] of Object.entries(cur.stages ?? {}))
    out.stages[n] = { pps: d(prev.stages?.[n]?.pkts, c.pkts) };
  const sum = (o) => Object.values(o ?? {}).reduce((a, b) => a + (Number(b) || 0), 0);
  out.drops_ps = d(sum(prev.drops), sum(cur.drops));
  return out;
}

/** Drop reasons with a count, largest first: [[reason, n], ...]. */
export function topDrops(drops, n = 10) {
  return Object.entries(drops ?? {}).filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);
}

/** An e-value for people: "1.0", "23.4", "1.2e+6", "≥1e300" (infinite). */
export function evalue(x) {
  if (x === null || x === undefined || !Number.isFinite(Number(x))) return '–';
  x = Number(x);
  if (x >= 1e300) return '≥1e300';
  return x >= 1e4 ? x.toExponential(1) : x.toFixed(1);
}

/**
 * A release's verdict evidence (verdict/status's `metrics`) as rows, one
 * per metric, worst first: what the verdict rests on.
 * Each row: { metric, canary, control, evalue, threshold, progress (0..1,
 * log e / log threshold), floor, floorMet, state: "failed" | "suspicious"
 * | "observed" | "waiting" }.
 */
export function evidenceRows(metrics) {
  const rows = [];
  for (const [metric, m] of Object.entries(metrics ?? {})) {
    const e = Number(m.e_value), th = Number(m.threshold);
    const progress = e > 1 && th > 1 ? Math.min(1, Math.log(e) / Math.log(th)) : 0;
    const exposures = Number(m.canary_n) || 0;
    rows.push({
      metric,
      canary: `${num(m.canary_bad)}/${num(m.canary_n)} (${pct(m.canary_rate, 2)})`,
      control: `${num(m.control_bad)}/${num(m.control_n)} (${pct(m.control_rate, 2)})`,
      evalue: evalue(m.e_value),
      threshold: evalue(m.threshold),
      progress,
      floor: m.traffic_floor === null || m.traffic_floor === undefined ? null
        : Number(m.traffic_floor),
      floorMet: m.traffic_floor === null || m.traffic_floor === undefined ? null
        : exposures >= Number(m.traffic_floor),
      state: m.failed ? 'failed' : m.suspicious ? 'suspicious'
        : m.observed ? 'observed' : 'waiting',
    });
  }
  const rank = { failed: 0, suspicious: 1, observed: 2, waiting: 3 };
  return rows.sort((a, b) => rank[a.state] - rank[b.state] || b.progress - a.progress ||
    a.metric.localeCompare(b.metric));
}

/** The comparison report of a shadow profile, wherever status put it. */
export function shadowReport(p) {
  if (!p || typeof p !== 'object') return null;
  if ('matches' in p || 'mismatches' in p) return p;
  for (const k of ['report', 'comparison', 'compare'])
    if (p[k] && typeof p[k] === 'object') return p[k];
  return null;
}

/** A mismatch-kinds object ({kind: n}) as "status 3, body 1" (largest first). */
export function kinds(o) {
  const e = Object.entries(o ?? {}).filter(([, v]) => Number(v) > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return e.length ? e.map(([k, v]) => `${k} ${num(v)}`).join(', ') : 'none';
}

/** Latency percentiles in µs ({p50, p90, p99, max}) as "p50 1.2 ms · p99 4 ms". */
export function latency(p) {
  if (!p) return '–';
  const us = (v) => v === null || v === undefined ? '–'
    : v >= 1000 ? (v / 1000).toFixed(1) + ' ms' : Math.round(v) + ' µs';
  return `p50 ${us(p.p50)} · p99 ${us(p.p99)}`;
}

/** Bytes from a hex string ("48545450"); null for anything else. */
export function hexBytes(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) return null;
  const out = new Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

/** Offset of the first byte where a and b differ (the shorter's length
 *  when one begins the other); null when equal or either is missing. */
export function firstDifference(a, b) {
  if (!a || !b) return null;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? null : n;
}

/**
 * A hex dump of `bytes` set against `other` (the other side's answer):
 * lines of `width` bytes, each {offset, cells: [{hex, ch, diff, first}]},
 * where diff marks a byte that differs from (or is missing in) the other,
 * and first the first difference.
 */
export function byteDiff(bytes, other, width = 16) {
  const first = firstDifference(bytes, other);
  const lines = [];
  for (let off = 0; off < (bytes?.length ?? 0); off += width) {
    const cells = [];
    for (let i = off; i < Math.min(off + width, bytes.length); i++) {
      const b = bytes[i];
      cells.push({
        hex: b.toString(16).padStart(2, '0'),
        ch: b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.',
        diff: !other || i >= other.length || other[i] !== b,
        first: i === first,
      });
    }
    lines.push({ offset: off, cells });
  }
  return { first, lines };
}

/** Standard base64 (a command's binary answer) as bytes; empty when absent. */
export function fromBase64(s) {
  const b = atob(typeof s === 'string' ? s : '');
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
}
