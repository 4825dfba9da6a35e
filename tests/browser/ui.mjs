// Drive the dashboard of a running umbra in headless chromium (Debian's,
// through puppeteer-core). test_ui.py starts the daemon and a release of
// "web" with a canary in production, then runs:
//   node ui.mjs BASE_URL TOKEN OUT_DIR
// Prints "ok - ..." / "not ok - ..." lines; exit status 1 when one failed.
// Screenshots of every view go to OUT_DIR.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const [base, token, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
let failures = 0;
const check = (what, ok, detail = '') => {
  console.log(`${ok ? 'ok' : 'not ok'} - ${what}${ok || !detail ? '' : '\n    ' + detail}`);
  if (!ok) failures++;
};
const api = async (cmd, args, tok = token) => {
  const r = await fetch(`${base}/api/v1/${cmd}`, { method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(tok ? { Authorization: `Bearer ${tok}` } : {}) },
    body: JSON.stringify(args) });
  return { status: r.status, body: await r.json().catch(() => null) };
};

const profile = mkdtempSync(join(tmpdir(), 'umbra-chromium-'));
const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    `--user-data-dir=${profile}`, '--window-size=1280,900'],
});
let phase = 'start', expectErrors = false;
const errors = [];
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('console', (m) => {
    if (m.type() === 'error' && !expectErrors) errors.push(`${phase}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`${phase}: ${e.message}`));
  page.on('dialog', (d) => d.accept()); // the confirmations
  const shot = (name) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
  const text = (sel) => page.$eval(sel, (e) => e.textContent).catch(() => '');
  // Views re-render on every /events update: a button found a moment ago
  // may have been replaced. Click whatever matches now, again if it went.
  const click = async (sel) => {
    for (let i = 0; ; i++) {
      try {
        await page.click(sel);
        return;
      } catch (e) {
        if (i >= 4 || !/detached|not clickable|No node found/.test(e.message)) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const show = async (view, sel) => {
    phase = view;
    await page.evaluate((v) => { location.hash = v; }, view);
    await page.waitForSelector(sel, { timeout: 5000 });
  };

  // 1. Without the token: read-only, from /metrics.
  phase = 'read-only';
  await page.goto(`${base}/ui/`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.querySelector('#view td')?.textContent === 'gen',
    { timeout: 8000 }).catch(() => {});
  check('read-only overview lists the ports from /metrics',
    (await text('#view')).includes('gen') && (await text('#ro-note')).includes('Read-only'));
  await show('releases', '#view p.empty');
  check('read-only: the releases view asks for the token, no action buttons',
    (await page.$$('button.act')).length === 0 && (await text('#view')).includes('Sign in'));
  await shot('read-only');
  phase = 'refused';
  expectErrors = true; // a 401 is logged by the browser as a failed resource
  const refused = await page.evaluate(async () => {
    const r = await fetch('/api/v1/event/rollback', { method: 'POST',
      headers: { 'Content-Type': 'application/json' }, body: '{"service":"web"}' });
    return r.status;
  });
  check('a rollback without the token is refused (401)', refused === 401, refused);
  const es = await page.evaluate(() => new Promise((res) => {
    const s = new EventSource('/events');
    s.onerror = () => { res(s.readyState); s.close(); };
    s.onopen = () => { res('open'); s.close(); };
  }));
  check('/events without the token is refused', es === 2, es);
  await new Promise((r) => setTimeout(r, 300));
  expectErrors = false;

  // 2. Sign in: live data over /events.
  phase = 'sign-in';
  await show('overview', '#login');
  await page.type('#token', token);
  await page.click('#login button');
  await page.waitForFunction(() => document.getElementById('live').textContent === 'live',
    { timeout: 8000 }).catch(() => {});
  check('signed in: the /events stream is live', (await text('#live')) === 'live');
  await page.waitForSelector('#ov-gen', { timeout: 5000 }).catch(() => {});
  const status = (await api('status', {})).body?.result;
  await page.waitForFunction((g) => document.getElementById('ov-gen')?.textContent === String(g),
    { timeout: 5000 }, status?.generation).catch(() => {});
  check('overview shows the generation umbra reports',
    (await text('#ov-gen')) === String(status?.generation), await text('#ov-gen'));
  check('the token is kept in sessionStorage only',
    await page.evaluate((t) => sessionStorage.getItem('umbra.token') === t &&
      localStorage.length === 0, token));
  const up0 = await text('#ov-uptime');
  await page.waitForFunction((u) => document.getElementById('ov-uptime')?.textContent !== u,
    { timeout: 5000 }, up0).catch(() => {});
  check('an SSE update arrives (uptime moves)', (await text('#ov-uptime')) !== up0);
  await page.waitForSelector('#chart canvas', { timeout: 6000 }).catch(() => {});
  check('overview draws the packets/s chart (uPlot)', (await page.$('#chart canvas')) !== null);
  await shot('overview');

  await show('releases', 'section.service[data-service="web"]');
  check('releases: web canary v2 at 10%',
    (await text('section.service[data-service="web"]')).includes('10%'));
  check('releases: the verdict with its reason', (await page.$('.verdict .vname')) !== null,
    await text('section.service'));
  await shot('releases');

  await show('faults', 'table');
  check('faults: the configured rule is listed', (await text('#view')).includes('slow-staging-db'));
  const before = await page.evaluate(() => window.umbra.data['fault/list'].result.rules.length);
  const added = await api('fault/add', { kind: 'delay', stage: 'staging', delay: '7ms',
    duration: '60s' });
  await page.waitForFunction((n) => window.umbra.data['fault/list'].result.rules.length > n,
    { timeout: 5000 }, before).catch(() => {});
  check('an SSE update arrives after fault/add (the new rule with its lease)',
    added.status === 200 && (await page.$(`button[data-act="fault-clear"]`)) !== null &&
    (await page.$$eval('#view .lease', (els) => els.map((e) => e.textContent)))
      .some((l) => /^(1m 00s|\d+s)$/.test(l)));
  await click('button[data-act="chaos-start"]');
  await page.waitForSelector('button[data-act="chaos-stop"]', { timeout: 5000 }).catch(() => {});
  check('chaos start from the UI (confirmed), then listed as running',
    (await text('#view')).includes('running'));
  await shot('faults');

  await show('shadows', '#view p, #view section');
  await shot('shadows');
  await show('analytics', '#view .cards');
  check('analytics renders the summary', (await text('#view')).includes('changes validated'));
  await shot('analytics');
  phase = 'graph';
  await page.evaluate(() => { location.hash = 'graph'; });
  await page.waitForFunction(() => document.getElementById('graph-note').textContent !== '',
    { timeout: 5000 }).catch(() => {});
  check('dependency map: edges summary or placeholder',
    /edges in|not served/.test(await text('#graph-note')), await text('#graph-note'));
  await shot('graph');

  // 3. Rollback from the UI: refused with a wrong token, done with the right one.
  await show('releases', 'button[data-act="rollback"]');
  phase = 'rollback-wrong-token';
  expectErrors = true;
  await page.evaluate(() => { window.umbra.token = 'not-the-token'; });
  await click('button[data-act="rollback"]');
  await page.waitForFunction(() => /refused \(401\)/.test(document.getElementById('msg').textContent),
    { timeout: 5000 }).catch(() => {});
  check('rollback from the UI with a wrong token is refused (401)',
    /refused \(401\)/.test(await text('#msg')), await text('#msg'));
  await page.evaluate((t) => { window.umbra.token = t; }, token);
  await new Promise((r) => setTimeout(r, 300));
  expectErrors = false;
  phase = 'rollback';
  await click('button[data-act="rollback"]');
  await page.waitForFunction(() => /event\/rollback: done/.test(document.getElementById('msg').textContent),
    { timeout: 5000 }).catch(() => {});
  check('rollback from the UI with the token is done', /done/.test(await text('#msg')),
    await text('#msg'));
  await page.waitForFunction(() => !document.querySelector('span.share[data-service="web"]'),
    { timeout: 5000 }).catch(() => {});
  check('after the rollback the canary is gone from the view (via /events)',
    (await page.$('span.share[data-service="web"]')) === null);
  await shot('releases-after-rollback');

  // 4. Reconnect with Last-Event-ID: the latest state at once.
  const resumed = await page.evaluate(() => new Promise((res) => {
    const s = new EventSource('/events?token=' + encodeURIComponent(window.umbra.token));
    const t0 = performance.now();
    s.addEventListener('status', () => { res(performance.now() - t0); s.close(); });
    setTimeout(() => { res(-1); s.close(); }, 3000);
  }));
  check('a new /events client gets the latest state at once', resumed >= 0 && resumed < 900,
    resumed);
  check('no console errors on any view', errors.length === 0, errors.join('\n    '));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
