// node --test: mismatch evidence in the shadows view (ui/js/format.js
// hexBytes, firstDifference, byteDiff; ui/js/views.js samples).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../../ui/js/format.js';
import * as V from '../../../ui/js/views.js';

const hex = (s) => Buffer.from(s, 'latin1').toString('hex');

test('hexBytes reads hex, refuses anything else', () => {
  assert.deepEqual(F.hexBytes('00ff41'), [0, 255, 65]);
  assert.deepEqual(F.hexBytes(''), []);
  assert.equal(F.hexBytes('abc'), null);
  assert.equal(F.hexBytes('zz'), null);
  assert.equal(F.hexBytes(undefined), null);
});

test('firstDifference: where bytes first differ, the shorter length, or null', () => {
  assert.equal(F.firstDifference([1, 2, 3], [1, 9, 3]), 1);
  assert.equal(F.firstDifference([1, 2, 3], [1, 2]), 2);
  assert.equal(F.firstDifference([1, 2], [1, 2]), null);
  assert.equal(F.firstDifference(null, [1]), null);
});

test('byteDiff marks the bytes that differ and the first one', () => {
  const a = F.hexBytes(hex('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv1'));
  const b = F.hexBytes(hex('HTTP/1.1 500 OK\r\nContent-Length: 2\r\n\r\nv2'));
  const d = F.byteDiff(a, b);
  assert.equal(d.first, 9);
  assert.equal(d.lines.length, Math.ceil(a.length / 16));
  assert.equal(d.lines[1].offset, 16);
  const cells = d.lines.flatMap((l) => l.cells);
  assert.equal(cells.filter((c) => c.first).length, 1);
  assert.ok(cells[9].first && cells[9].diff && cells[9].ch === '2' && cells[9].hex === '32');
  assert.deepEqual(cells.map((c, i) => c.diff ? i : -1).filter((i) => i >= 0), [9, a.length - 1]);
  assert.equal(cells[15].ch, '.');      // \r is shown as a dot
  // Bytes beyond the other side's end differ.
  const e = F.byteDiff([1, 2, 3], [1]);
  assert.deepEqual(e.lines[0].cells.map((c) => c.diff), [false, true, true]);
  assert.equal(e.first, 1);
});

test('the shadows view shows a sample\'s bytes, the first difference highlighted', () => {
  const sample = {
    flow_id: 1, exchange: 0, method: 'GET', path: '/diff<x>', kinds: ['body'],
    production: { status: 200, size: 12, latency_us: 900, flags: [],
      head: hex('HTTP/1.1 200 OK\r\n\r\nanswer of v1') },
    shadow: { status: 200, size: 12, latency_us: 700, flags: [],
      head: hex('HTTP/1.1 200 OK\r\n\r\nanswer of v2') },
    first_difference: 30,
  };
  const html = V.shadows({ profiles: [{ name: 'web-v2', comparison: {
    compared: 1, mismatches: 1, endpoints: [], samples: [sample, { ...sample,
      production: { status: 200 }, shadow: { status: 500 } }] } }] });
  assert.match(html, /Mismatch samples/);
  assert.match(html, /first difference at byte 30/);
  assert.match(html, /GET \/diff&lt;x&gt;/);     // escaped
  assert.equal((html.match(/class="b-first"/g) ?? []).length, 4); // hex + ASCII, both sides
  assert.match(html, /<span class="b-first">1<\/span>/);
  assert.match(html, /<span class="b-first">2<\/span>/);
  assert.match(html, /bytes not kept for this exchange/);
  assert.match(V.shadows({ profiles: [{ name: 'p', comparison: { samples: [] } }] }),
    /no mismatch samples/);
});
