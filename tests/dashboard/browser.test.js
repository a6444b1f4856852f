/* Browser tests of the dashboard and the citizen's ticket page: Debian's
 * chromium, headless, driven by puppeteer-core, against a real mosquitto (a
 * plain listener and a websockets listener serving build/dashboard/ with
 * http_dir), the real qms-controller and a replayed piece of a day
 * (qms-demo-driver), a real kiosk printing to the virtual printer.
 *
 *   node browser.test.js <build dir> <source dir> <case>
 *   case: stats | alert | ticket | book | provisioned | province | shots (screenshots into docs/img/)
 *
 * Oracles the pages did not make: the controller's retained stats read by an
 * outside client (mosquitto_sub), a device's last will made by killing an
 * outside client (mosquitto_sub) with SIGKILL, the printed ticket's QR read
 * from the virtual printer's PNG by zbarimg. Exit 0 = pass. */
'use strict';

const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const [, , buildDir, srcDir, which] = process.argv;
const bin = (n) => path.join(buildDir, 'bin', n);
const puppeteer = require(path.join(srcDir, 'dashboard/node_modules/puppeteer-core'));
const CHROMIUM = process.env.QMS_CHROMIUM || '/usr/bin/chromium';

const procs = [];
let tmp = '';
function log(...a) { console.log(...a); }
function fail(msg) { throw new Error(msg); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}
async function waitPort(port, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); r(true); });
      c.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  fail(`nothing listens on ${port}`);
}
function start(name, cmd, args, opts = {}) {
  const out = fs.openSync(path.join(tmp, `${name}.log`), 'a');
  const p = spawn(cmd, args, { stdio: ['ignore', opts.stdout || out, out], env: { ...process.env, ...(opts.env || {}) } });
  p.qmsName = name;
  procs.push(p);
  return p;
}
function stopAll() {
  for (const p of procs.reverse()) if (p.exitCode === null) { try { p.kill('SIGTERM'); } catch (e) { /* gone */ } }
}
async function waitFor(what, f, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
/* Every page the browser opens: what the server answered 404 (a page
 * asking for something not there, e.g. /favicon.ico); the run fails on any. */
const notFound = [];
function watch404(browser) {
  browser.on('targetcreated', async (t) => {
    const p = await t.page().catch(() => null);
    if (p) p.on('response', (r) => { if (r.status() === 404) notFound.push(r.url()); });
  });
}
/* The outside clients' login when the broker wants one (the province case) */
let brokerAuth = [];
/* One retained message, read by an outside client. */
function retained(port, topic, auth = brokerAuth) {
  const out = execFileSync('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), ...auth, '-t', topic, '-C', '1', '-W', '5'],
    { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n')[0]);
}
function pub(port, topic, msg, retain) {
  execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...brokerAuth, '-q', '1', ...(retain ? ['-r'] : []), '-t', topic, '-m', msg]);
}

/* The last day up to today (the center's time) that its calendar opens for a
 * whole day (from 07:30 to 17:00 or later): a weekday, not a holiday, so the
 * controller started at 07:30 issues all day whenever the test runs. */
function openDay(center) {
  const wd = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
  const cal = center.calendar || {};
  let t = Date.now() + 7 * 3600e3;
  for (let i = 0; i < 60; i++, t -= 86400e3) {
    const d = new Date(t);
    const iso = d.toISOString().slice(0, 10);
    const make = (cal.workdays || []).find((w) => w.date === iso);
    let hours = center.hours;
    if ((cal.holidays || []).includes(iso)) hours = [];
    else if (cal.week) hours = cal.week[make ? make.as : wd[d.getUTCDay()]] || [];
    if (hours.length && hours[0][0] <= '07:30' && hours[hours.length - 1][1] >= '17:00') return iso;
  }
  throw new Error('the sample center is not open a whole day in the last 60 days');
}

async function setup(opts = {}) {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qms-browser-'));
  const port = await freePort();
  const ws = await freePort();
  const center = JSON.parse(fs.readFileSync(path.join(srcDir, 'examples/center.json'), 'utf8'));
  center.ticket_url = `http://127.0.0.1:${ws}/`;
  Object.assign(center, opts.center || {});
  const cfg = path.join(tmp, 'center.json');
  fs.writeFileSync(cfg, JSON.stringify(center));
  let prov = null;
  let ctlAuth = [];
  if (opts.provisioned) {
    /* the two brokers exactly as qms-provision writes them (listeners on
     * loopback): the site broker (TLS + loopback) and the web broker
     * (websockets serving the pages + its own loopback listener), bridged */
    prov = { dir: path.join(tmp, 'prov'), webPort: await freePort() };
    fs.chmodSync(tmp, 0o755); /* mosquitto started as root reads its files as user mosquitto */
    execFileSync(bin('qms-provision'), ['--config', cfg, '--out', prov.dir, '--bind', '127.0.0.1', '--port', String(await freePort()),
      '--local-port', String(port), '--ws-port', String(ws), '--web-local-port', String(prov.webPort),
      '--http-dir', path.join(buildDir, 'dashboard'), '--no-client-certs', '--kiosk', 'k1'], { stdio: 'pipe' });
    const c = JSON.parse(fs.readFileSync(path.join(prov.dir, 'clients', 'controller.json'), 'utf8'));
    ctlAuth = ['--username', c.username, '--password', c.password];
    start('mosquitto', '/usr/sbin/mosquitto', ['-c', path.join(prov.dir, 'mosquitto.conf')]);
    start('mosquitto-web', '/usr/sbin/mosquitto', ['-c', path.join(prov.dir, 'mosquitto-web.conf')]);
    await waitPort(prov.webPort);
  } else {
    fs.writeFileSync(path.join(tmp, 'mosquitto.conf'), [
      `listener ${port} 127.0.0.1`,
      `listener ${ws} 127.0.0.1`, 'protocol websockets', `http_dir ${path.join(buildDir, 'dashboard')}`,
      'allow_anonymous true', 'set_tcp_nodelay true', 'persistence false', ''].join('\n'));
    start('mosquitto', '/usr/sbin/mosquitto', ['-c', path.join(tmp, 'mosquitto.conf')]);
  }
  await waitPort(port);
  await waitPort(ws);
  const today = openDay(center);
  start('controller', bin('qms-controller'), ['--config', cfg, '--db', path.join(tmp, 'c.db'),
    '--broker', `127.0.0.1:${port}`, '--clock', `${today}T07:30:00`, '--speed', String(opts.speed || 1),
    /* a coarse interval (the default is 150 ms) so that checkCoalesced's
     * paced ops, ~100 ms apart, tell coalescing from one message per op */
    '--web-counters-ms', String(WEB_COUNTERS_MS), ...ctlAuth]);
  await waitFor('the controller online', () => {
    try { return retained(port, `qms/${center.site}/device/controller/main/status`, ctlAuth.length ? ['-u', ctlAuth[1], '-P', ctlAuth[3]] : []).state === 'online'; } catch (e) { return false; }
  });
  if (prov) {
    /* the controller's status through the bridge, read on the web broker's
     * loopback listener as the dashboard user */
    const d = JSON.parse(fs.readFileSync(path.join(prov.dir, 'clients', 'dashboard.json'), 'utf8'));
    prov.dashAuth = ['-u', d.username, '-P', d.password];
    await waitFor('the controller online on the web broker', () => {
      try { return retained(prov.webPort, `qms/${center.site}/device/controller/main/status`, prov.dashAuth).state === 'online'; } catch (e) { return false; }
    }, 30000);
  }
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required'],
  });
  watch404(browser);
  return { port, ws, site: center.site, cfg, center, browser, prov };
}

async function openDash(env, view, lang, size) {
  const page = await env.browser.newPage();
  await page.setViewport(size || { width: 1920, height: 1080 });
  page.on('pageerror', (e) => log('page error:', e.message));
  await page.goto(`http://127.0.0.1:${env.ws}/index.html#site=${env.site}&view=${view}&lang=${lang || 'vi'}`);
  return page;
}

/* ---- the cases ---- */

/* The numbers on the page equal the controller's retained stats after a
 * replayed piece of a day. */
async function caseStats(env) {
  const drv = start('driver', bin('qms-demo-driver'), ['--config', env.cfg, '--trace',
    path.join(srcDir, 'examples/day-500.csv'), '--broker', `127.0.0.1:${env.port}`, '--clock', 'controller', '--limit', '60']);
  await waitFor('the driver to finish', () => drv.exitCode !== null, 120000);
  if (drv.exitCode !== 0) fail(`qms-demo-driver exited ${drv.exitCode}`);
  await sleep(1500); /* the stats follow at most a second later */
  const page = await openDash(env, 'now');
  /* The controller republishes its stats (a new at_ms) while we look: take
   * the retained stats and the page's table in one go, until the page shows
   * exactly that publication (a slow build may see several go by). */
  let stats, rows;
  await waitFor('the page to show the stats', async () => {
    stats = retained(env.port, `qms/${env.site}/stats`);
    const snap = await page.evaluate(() => ({
      at: document.body.dataset.statsAt,
      rows: [...document.querySelectorAll('#services tbody tr')].map((tr) => ({
        code: tr.dataset.code,
        waiting: Number(tr.querySelector('.waiting').textContent),
        served: Number(tr.querySelector('.served').textContent),
        longest: tr.querySelector('.longest').textContent,
      })),
    }));
    rows = snap.rows;
    /* the table's rows come with the retained config, which may arrive after
     * the stats: wait for both */
    return snap.at === String(stats.at_ms) && rows.length === stats.services.length;
  }, 60000);
  if (rows.length !== stats.services.length) fail(`page has ${rows.length} services, stats ${stats.services.length}`);
  let served = 0;
  for (const s of stats.services) {
    const r = rows.find((x) => x.code === s.code);
    if (!r) fail(`service ${s.code} not on the page`);
    if (r.waiting !== s.waiting || r.served !== s.served) fail(`${s.code}: page ${r.waiting}/${r.served}, stats ${s.waiting}/${s.served}`);
    if (r.longest !== `${Math.round(s.longest_wait_s / 60)} phút`) fail(`${s.code}: longest ${r.longest}, stats ${s.longest_wait_s} s`);
    served += s.served;
  }
  if (served === 0) fail('nobody was served: the replay did not run');
  const today = await page.$eval('#today-cards', (e) => e.textContent);
  const cards = await page.evaluate(() => { document.querySelector('[data-view=today]').click(); return Object.fromEntries([...document.querySelectorAll('#today-cards .card')].map((c) => [c.dataset.k, c.querySelector('.v').textContent])); });
  if (Number(cards.taken) !== stats.today.taken || Number(cards.served) !== stats.today.served) fail(`today cards ${JSON.stringify(cards)} vs ${JSON.stringify(stats.today)}`);
  log(`stats: ${rows.length} services, ${served} served, ${stats.today.taken} taken: page = controller (${today.length} chars of today cards)`);
  /* reports: the CSV the page gets from the controller's report op is the one
   * qms-report writes from the same store */
  await page.click('[data-view=reports]');
  await page.select('#r-by', 'service');
  await page.click('#r-go');
  await page.waitForFunction(() => Number(document.body.dataset.reportBytes || 0) > 0, { timeout: 30000 });
  const day = await page.$eval('#r-from', (e) => e.value);
  const oracle = path.join(tmp, 'report.csv');
  execFileSync(bin('qms-report'), ['--db', path.join(tmp, 'c.db'), '--from', day, '--by', 'service', '--config', env.cfg, '--out', oracle]);
  const want = fs.readFileSync(oracle);
  const got = Number(await page.evaluate(() => document.body.dataset.reportBytes));
  if (got !== want.length) fail(`report: page has ${got} bytes, qms-report ${want.length}`);
  const cell = await page.$$eval('#r-table tr', (trs) => trs.map((tr) => tr.firstChild.textContent));
  if (!cell.includes('TP')) fail(`report table rows: ${cell.join('|')}`);
  log(`report: ${got} bytes, ${cell.length} rows, = qms-report`);
  /* the hour-by-hour topic agrees with the day's totals, and the charts are drawn */
  const hourly = retained(env.port, `qms/${env.site}/stats/hourly`);
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  if (sum(hourly.taken) !== stats.today.taken || sum(hourly.served) !== stats.today.served) {
    fail(`hourly ${sum(hourly.taken)}/${sum(hourly.served)} vs today ${stats.today.taken}/${stats.today.served}`);
  }
  await page.waitForSelector('#chart-flow canvas', { timeout: 20000 });
  await page.waitForSelector('#chart-wait canvas', { timeout: 20000 });
  /* counts: the arrivals/served chart's y axis starts at 0 */
  const ymin = await page.$eval('#chart-flow', (e) => e.dataset.ymin);
  if (ymin !== '0') fail(`the arrivals/served chart's y axis starts at ${ymin}, not 0`);
  const counters = await page.$$eval('#counters tbody tr', (t) => t.length);
  if (counters !== env.center.counters.length) fail(`page shows ${counters} counters, config has ${env.center.counters.length}`);
  await checkCounters(env, page);
  await checkCoalesced(env, page);
  /* an open broker (anonymous, the stats flow): no login form, long after
   * the 5 s the page gives a broker that shows anonymous clients nothing */
  if (await page.$eval('#login', (e) => !e.hidden)) fail('the login form shows on an open broker with the stats flowing');
}

function rr(env, topic, body) {
  return JSON.parse(execFileSync('mosquitto_rr', ['-V', '5', '-h', '127.0.0.1', '-p', String(env.port), '-t', `qms/${env.site}/${topic}`,
    '-e', `qms/${env.site}/reply/test-rr`, '-W', '10', '-m', JSON.stringify(body)], { encoding: 'utf8' }));
}

/* messages on qms/<site>/counters (not the retained one) while f runs, seen
 * by an outside subscriber */
async function countCounters(env, f) {
  const sub = start('sub-counters', 'mosquitto_sub', ['-h', '127.0.0.1', '-p', String(env.port), '-R', '-t', `qms/${env.site}/counters`],
    { stdout: 'pipe' });
  let n = 0, buf = '';
  sub.stdout.on('data', (d) => { buf += d; const l = buf.split('\n'); buf = l.pop(); n += l.length; });
  await sleep(500); /* subscribed */
  const t0 = Date.now();
  await f();
  const ms = Date.now() - t0 + 500;
  sub.kill('SIGTERM');
  await new Promise((r) => (sub.exitCode !== null ? r() : sub.on('exit', r)));
  return { n, ms };
}

const WEB_COUNTERS_MS = 500;

/* The dashboards read every counter's state from one coalesced retained
 * message (qms/<site>/counters), published at most every WEB_COUNTERS_MS and only
 * when a state changed (docs/dashboard.md, "Where the fan-out goes"). */
async function checkCoalesced(env, page) {
  /* the coalesced view = the per-counter topics (the oracle), one by one */
  const all = retained(env.port, `qms/${env.site}/counters`);
  if (!Array.isArray(all.counters) || all.counters.length !== env.center.counters.length) fail(`counters: ${JSON.stringify(all)}`);
  for (const k of all.counters) {
    const one = retained(env.port, `qms/${env.site}/counter/${k.counter}/state`);
    if (JSON.stringify(one) !== JSON.stringify(k)) fail(`counters has ${JSON.stringify(k)}, counter/${k.counter}/state ${JSON.stringify(one)}`);
  }
  /* nothing changes: nothing is republished */
  const quiet = await countCounters(env, () => sleep(3000));
  if (quiet.n !== 0) fail(`counters republished ${quiet.n} times in ${quiet.ms} ms with nothing changing`);
  /* a call reaches the page's counter table */
  const ctr = env.center.counters.find((c) => c.services.includes('TP'));
  rr(env, 'ticket/take', { req: 'co-take', service: 'TP' });
  const t0 = Date.now();
  const r = rr(env, `counter/${ctr.id}/cmd`, { req: 'co-next', op: 'next' });
  if (!r.ticket) fail(`next at counter ${ctr.id}: ${JSON.stringify(r)}`);
  await page.waitForFunction((id, t) => {
    const td = document.querySelector(`#counters tr[data-counter="${id}"] .ticket`);
    return td && td.textContent === t;
  }, { timeout: 10000 }, ctr.id, r.ticket).catch(() => fail(`the page's counter ${ctr.id} never showed ${r.ticket}`));
  const follow = Date.now() - t0;
  /* paced ops (one state change each): at most one message per interval */
  let ops = 0;
  const busy = await countCounters(env, async () => {
    for (let i = 0; i < 20; i++, ops++) {
      rr(env, `counter/${ctr.id}/cmd`, { req: `co-p-${i}`, op: i % 2 ? 'resume' : 'pause' });
      await sleep(100);
    }
  });
  const most = Math.floor(busy.ms / WEB_COUNTERS_MS) + 2;
  if (busy.n < 1 || busy.n > most) fail(`counters: ${busy.n} messages for ${ops} state changes in ${busy.ms} ms (want 1..${most})`);
  log(`counters: = counter/+/state; 0 messages in ${quiet.ms} ms quiet; the call on the page ${follow} ms after the request; ` +
    `${busy.n} messages for ${ops} changes in ${busy.ms} ms`);
}

/* Per counter, served today and the mean service time on the "now" view
 * equal what the store says (SQL on the controller's SQLite file, by the
 * sqlite3 program: not the controller's arithmetic). Nothing moves any more
 * (the replay is over), so the page's latest stats are final. */
async function checkCounters(env, page) {
  const day = retained(env.port, `qms/${env.site}/stats`).day;
  const sql = `SELECT counter_id AS c, count(*) AS n, avg(end_ms - start_ms) AS ms FROM tickets
               WHERE day = '${day}' AND state = 'done' GROUP BY counter_id`;
  const rowsDb = JSON.parse(execFileSync('sqlite3', ['-json', '-readonly', path.join(tmp, 'c.db'), sql], { encoding: 'utf8' }) || '[]');
  const want = new Map(rowsDb.map((r) => [r.c, r]));
  let shown;
  await page.click('[data-view=now]');
  await waitFor('the counters to match the store', async () => {
    shown = await page.$$eval('#counters tbody tr', (trs) => trs.map((tr) => ({
      id: Number(tr.dataset.counter),
      served: tr.querySelector('.served').textContent,
      s: tr.querySelector('.mean-service').dataset.s,
      text: tr.querySelector('.mean-service').textContent,
    })));
    return shown.every((r) => {
      const w = want.get(r.id);
      return r.served === String(w ? w.n : 0) && r.s === (w ? String(Math.round(w.ms / 1000)) : '');
    });
  }, 20000).catch(() => fail(`counters on the page ${JSON.stringify(shown)} vs the store ${JSON.stringify(rowsDb)}`));
  for (const r of shown) {
    const w = want.get(r.id);
    const text = w ? `${(Math.round(Math.round(w.ms / 1000) / 6) / 10).toFixed(1).replace('.', ',')} phút` : '–';
    if (r.text !== text) fail(`counter ${r.id}: mean service shown "${r.text}", the store says ${text}`);
  }
  const busy = shown.filter((r) => Number(r.served) > 0).length;
  if (busy < 2) fail(`only ${busy} counters served anybody: the replay did not run`);
  log(`counters: ${shown.length} on the page, ${busy} served; served and mean service = the store (${rowsDb.map((r) => `${r.c}:${r.n}/${Math.round(r.ms / 1000)}s`).join(' ')})`);
}

/* An alert appears within 2 s of a device going offline and clears when it is back. */
async function caseAlert(env) {
  const page = await openDash(env, 'alerts');
  await page.evaluate(() => { localStorage.setItem('qms.who', 'Lan'); });
  await page.type('#who', 'Nguyễn Thị Lan');
  const topic = `qms/${env.site}/device/kiosk/k7/status`;
  pub(env.port, topic, '{"state":"online","printer":"ok","kiosk":"k7"}', true);
  const kiosk = start('kiosk-k7', 'mosquitto_sub', ['-V', '5', '-h', '127.0.0.1', '-p', String(env.port), '-i', 'kiosk-k7',
    '-t', 'qms/x/none', '--will-topic', topic, '--will-payload', '{"state":"offline"}', '--will-retain', '--will-qos', '1']);
  await page.waitForFunction(() => Number(document.body.dataset.alertsAt || 0) > 0, { timeout: 20000 });
  await sleep(500); /* the kiosk's connection */
  const sel = 'li[data-id="device_offline:kiosk/k7"]';
  if (await page.$(sel)) fail('the alert is there before the device went offline');
  /* when the alert is in the page's DOM, noted by the page itself */
  await page.evaluate((s) => {
    new MutationObserver((_, obs) => {
      if (document.querySelector(s)) { window.qmsShownAt = Date.now(); obs.disconnect(); }
    }).observe(document.body, { childList: true, subtree: true });
  }, sel);
  const t0 = Date.now();
  kiosk.kill('SIGKILL');
  await page.waitForSelector(sel, { timeout: 20000 });
  const ms = (await page.evaluate(() => window.qmsShownAt)) - t0;
  const msg = (await page.evaluate(() => Number(document.body.dataset.alertsArrived))) - t0;
  /* measured, not asserted (tests never fail on timing): the issue's limit is 2 s */
  log(JSON.stringify({ measure: 'alert_message_at_page_after_last_will_ms', value: msg }));
  log(JSON.stringify({ measure: 'alert_in_dom_after_last_will_ms', value: ms, limit: 2000, within: ms <= 2000 }));
  const text = await page.$eval(sel, (e) => e.textContent);
  if (!text.includes('Thiết bị kiosk/k7 mất kết nối')) fail(`alert text: ${text}`);
  await checkDeviceColours(page, 'kiosk/k7', false);
  const beeps = await page.evaluate(() => Number(document.body.dataset.beeps || 0));
  if (beeps < 1) fail('no sound for a new alert');
  /* acknowledge from the page: stored by the controller, shown */
  await page.click(`${sel} .ack-btn`);
  await page.waitForFunction((s) => document.querySelector(s) && document.querySelector(s).textContent.includes('Nguyễn Thị Lan'), { timeout: 20000 }, sel);
  const set = retained(env.port, `qms/${env.site}/alerts`);
  const a = set.alerts.find((x) => x.id === 'device_offline:kiosk/k7');
  if (!a || a.acked_by !== 'Nguyễn Thị Lan') fail(`retained set: ${JSON.stringify(set)}`);
  /* back online: gone from the page */
  const t1 = Date.now();
  pub(env.port, topic, '{"state":"online","printer":"ok","kiosk":"k7"}', true);
  await page.waitForFunction((s) => !document.querySelector(s), { timeout: 20000 }, sel);
  log(JSON.stringify({ measure: 'alert_cleared_on_page_ms', value: Date.now() - t1 }));
  await checkDeviceColours(page, 'kiosk/k7', true);
}

/* The devices table's Link cell: green text when online, red when offline,
 * on the table's white, readable (WCAG contrast >= 4.5 offline, >= 3 online) */
async function checkDeviceColours(page, key, online) {
  await page.click('[data-view=now]');
  await page.waitForFunction((k, on) => {
    const tr = document.querySelector(`#devices tr[data-device="${k}"]`);
    return tr && tr.className === (on ? 'on' : 'off');
  }, { timeout: 20000 }, key, online).catch(() => fail(`device ${key} not shown ${online ? 'online' : 'offline'}`));
  const c = await page.evaluate((k) => {
    const td = document.querySelector(`#devices tr[data-device="${k}"]`).cells[1];
    const rgb = (v) => (v.match(/[\d.]+/g) || []).map(Number);
    let bg = null;
    for (let e = td; e && !bg; e = e.parentElement) {
      const b = rgb(getComputedStyle(e).backgroundColor);
      if (b.length === 3 || (b.length === 4 && b[3] > 0)) bg = b.slice(0, 3);
    }
    return { text: td.textContent, fg: rgb(getComputedStyle(td).color).slice(0, 3), bg: bg || [255, 255, 255] };
  }, key);
  const lum = (v) => { const l = v.map((x) => { const y = x / 255; return y <= 0.03928 ? y / 12.92 : ((y + 0.055) / 1.055) ** 2.4; }); return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2]; };
  const [hi, lo] = [lum(c.fg), lum(c.bg)].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  const hue = online ? c.fg[1] > c.fg[0] : c.fg[0] > c.fg[1];
  log(`devices: ${key} "${c.text}" text rgb(${c.fg}) on rgb(${c.bg}), contrast ${ratio.toFixed(2)}`);
  if (process.env.QMS_SHOTS) {
    const tbl = await page.$('#devices');
    await tbl.screenshot({ path: path.join(process.env.QMS_SHOTS, `devices-${online ? 'online' : 'offline'}-vi.png`) });
  }
  if (c.text !== (online ? 'Trực tuyến' : 'Mất kết nối')) fail(`device ${key} link "${c.text}"`);
  if (!hue || ratio < (online ? 3 : 4.5)) fail(`device ${key} link cell: text rgb(${c.fg}) on rgb(${c.bg}) (contrast ${ratio.toFixed(2)})`);
  await page.click('[data-view=alerts]');
}

/* A printed ticket's QR opens its page: its number, then its call. */
async function caseTicket(env) {
  const out = path.join(tmp, 'tickets');
  fs.mkdirSync(out);
  const vp = start('vprinter', bin('qms-vprinter'), ['--out', out], { stdout: 'pipe' });
  const pty = await new Promise((resolve, reject) => {
    let buf = '';
    vp.stdout.on('data', (d) => { buf += d; const m = buf.match(/(\/dev\/\S+)/); if (m) resolve(m[1]); });
    setTimeout(() => reject(new Error('no pty from qms-vprinter')), 10000);
  });
  const kiosk = start('kiosk', bin('qms-kiosk'), ['--config', env.cfg, '--broker', `127.0.0.1:${env.port}`,
    '--printer', pty, '--state-file', path.join(tmp, 'kiosk.journal'), '--script', path.join(srcDir, 'scripts/demo-kiosk.txt'),
    '--screenshot-dir', path.join(tmp, 'kiosk-shots')], { env: { SDL_VIDEODRIVER: 'offscreen', SDL_AUDIODRIVER: 'dummy' } });
  await waitFor('the kiosk script', () => kiosk.exitCode !== null, 60000);
  const png = await waitFor('a printed ticket', () => fs.readdirSync(out).find((f) => f.endsWith('.png')), 10000);
  const url = execFileSync('zbarimg', ['-q', '--raw', path.join(out, png)], { encoding: 'utf8' }).trim();
  log(`QR on the printed ticket: ${url}`);
  if (!url.startsWith(`http://127.0.0.1:${env.ws}/ticket.html#s=${env.site}&t=`)) fail(`QR URL ${url}`);
  const page = await env.browser.newPage();
  await page.setViewport({ width: 412, height: 860, isMobile: true });
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === 'waiting', { timeout: 20000 });
  const number = await page.$eval('#number', (e) => e.textContent);
  if (!/^[A-Z]*\d+$/.test(number)) fail(`number on the page: ${number}`);
  const ahead = await page.$eval('#ahead', (e) => e.textContent);
  log(`ticket page: ${number}, ${ahead} ahead`);
  if (process.env.QMS_SHOTS) await page.screenshot({ path: path.join(process.env.QMS_SHOTS, 'ticket-waiting-vi.png') });
  /* the counter that serves TP calls this number */
  const ctr = env.center.counters.find((c) => c.services.includes('TP'));
  execFileSync('mosquitto_rr', ['-V', '5', '-h', '127.0.0.1', '-p', String(env.port), '-t', `qms/${env.site}/counter/${ctr.id}/cmd`,
    '-e', `qms/${env.site}/reply/test-rr`, '-W', '5', '-m', JSON.stringify({ req: 'bt-call-1', op: 'call', ticket: number })]);
  await page.waitForFunction(() => document.body.dataset.state === 'called', { timeout: 20000 });
  const called = await page.$eval('#called-text', (e) => e.textContent);
  log(`ticket page after the call: ${called}`);
  if (!called.includes(`Quầy ${ctr.id}`) && !called.includes(ctr.name_vi || '\u0000')) fail(`called text: ${called}`);
  if (process.env.QMS_SHOTS) {
    await page.screenshot({ path: path.join(process.env.QMS_SHOTS, 'ticket-called-vi.png') });
    await page.click('.lang-toggle button[data-lang=en]');
    await page.screenshot({ path: path.join(process.env.QMS_SHOTS, 'ticket-called-en.png') });
  }
  /* the last word on the ticket's topic (retained, published by an outside
   * client as the controller does when the ticket is finished): each final
   * state has its own sentence, in both languages, and no counter call */
  const ttopic = `qms/${env.site}/ticket/${url.match(/t=([^&]+)/)[1]}/status`;
  const finals = {
    done: ['Đã phục vụ xong. Cảm ơn bạn!', 'Served. Thank you!'],
    noshow: ['Bạn đã không có mặt khi được gọi. Hãy hỏi tại quầy.', 'You were called but not there. Please ask at the counter.'],
    cancelled: ['Số này đã bị hủy.', 'This number was cancelled.'],
  };
  for (const [state, [vi, en]] of Object.entries(finals)) {
    await page.click('.lang-toggle button[data-lang=vi]');
    pub(env.port, ttopic, JSON.stringify({ ticket: number, state, service: 'TP', counter: ctr.id }), true);
    await page.waitForFunction((s) => document.body.dataset.state === s, { timeout: 20000 }, state)
      .catch(() => fail(`the ticket page did not take the state ${state}`));
    const shown = () => page.evaluate(() => ({
      finished: document.getElementById('finished').hidden ? '' : document.getElementById('finished').textContent,
      called: !document.getElementById('called').hidden, number: document.getElementById('number').textContent }));
    const v = await shown();
    if (v.finished !== vi || v.called || v.number !== number) fail(`${state} (vi): ${JSON.stringify(v)}`);
    if (process.env.QMS_SHOTS && state === 'done') await page.screenshot({ path: path.join(process.env.QMS_SHOTS, 'ticket-done-vi.png') });
    await page.click('.lang-toggle button[data-lang=en]');
    const e = await shown();
    if (e.finished !== en || e.called) fail(`${state} (en): ${JSON.stringify(e)}`);
    log(`ticket page, ${state}: "${v.finished}" / "${e.finished}"`);
  }
  /* a made-up token shows nothing of anyone */
  const other = await env.browser.newPage();
  await other.goto(url.replace(/t=[^&]+/, 't=AAAAAAAAAAAAAAAAAAAAAA'));
  await sleep(1500);
  if ((await other.$eval('#number', (e) => e.textContent)) !== '…') fail('a made-up token showed a ticket');
}

/* The dashboard and the ticket page against the two brokers configured by
 * qms-provision's own files, not the test's open one: the site broker (TLS
 * and loopback listeners, password file, ACL), where the controller and
 * the devices are, and the web broker (mosquitto-web.conf: websockets
 * serving the pages, its own passwd-web and acl-web), bridged to the site
 * broker as user web-bridge; every web client below is on the web broker:
 *  - the dashboard logs in as the provisioned dashboard user, shows the
 *    stats, and its requests' replies reach it (a report: the reply topic is
 *    qms/<site>/reply/<user name>/..., the only replies the ACL lets it read);
 *    a wrong password shows the login form and nothing of the center;
 *  - an anonymous client on the websockets listener whose client id is a
 *    ticket's token reads that ticket's status and the public config (for
 *    the booking page), nothing else: not the stats, the queues, the alerts
 *    or replies, even with "#";
 *    with any other client id it reads nothing; its requests (a take, a
 *    counter command, an acknowledgement) are refused by the broker (PUBACK
 *    135) and nothing is executed;
 *  - an anonymous client listening on reply/# and "#" gets none of another
 *    page's replies while that page (the booking page's client) gets its own;
 *  - the dashboard user, over websockets, cannot take a ticket, command a
 *    counter or publish a call (135, nothing executed, nothing reaches the
 *    site broker);
 *  - anonymous clients are refused on both loopback (plain MQTT) listeners;
 *  - the ticket page itself, opened anonymously, shows its ticket. */
async function caseProvisioned(env) {
  const mqtt = require(path.join(srcDir, 'dashboard/node_modules/mqtt'));
  const p = env.prov;
  const s = env.site;
  const cred = (who) => JSON.parse(fs.readFileSync(path.join(p.dir, 'clients', `${who}.json`), 'utf8'));
  const kiosk = cred('kiosk-k1');
  const takeAsKiosk = (req) => JSON.parse(execFileSync('mosquitto_rr', ['-V', '5', '-h', '127.0.0.1', '-p', String(env.port),
    '-u', kiosk.username, '-P', kiosk.password, '-i', 'kiosk-k1-test', '-t', `qms/${s}/ticket/take`,
    '-e', `qms/${s}/reply/${kiosk.username}/kiosk-k1-test/${req}`, '-W', '10',
    '-m', JSON.stringify({ req, service: 'TP' })], { encoding: 'utf8' }));
  const take = takeAsKiosk('prov-take-1');
  if (!take.token || !take.ticket) fail(`take: ${JSON.stringify(take)}`);
  const tickets = () => Number(execFileSync('sqlite3', ['-readonly', path.join(tmp, 'c.db'), 'SELECT count(*) FROM tickets'], { encoding: 'utf8' }).trim());
  const before = tickets();

  /* the manager opens the bare address (docs/install.md): the web broker
   * lets an anonymous client in but gives it no figures: the login form,
   * saying so; logging in through it shows the stats */
  const dash = cred('dashboard');
  const bare = await env.browser.newPage();
  await bare.setViewport({ width: 1920, height: 1080 });
  await bare.goto(`http://127.0.0.1:${env.ws}/index.html`);
  await bare.waitForFunction(() => !document.querySelector('#login').hidden && document.body.dataset.login === 'needed',
    { timeout: 30000, polling: 200 }).catch(() => fail('the bare address on the web broker showed no login form'));
  const why = await bare.$eval('#login span', (e) => e.textContent);
  if (why !== 'Máy chủ này cần đăng nhập để xem số liệu.') fail(`the login form says "${why}"`);
  await bare.screenshot({ path: path.join(process.env.QMS_SHOTS || tmp, 'provisioned-login-vi.png') });
  await bare.$eval('#l-user', (e) => { e.value = ''; });
  await bare.type('#l-user', dash.username);
  await bare.type('#l-pass', dash.password);
  await Promise.all([bare.waitForNavigation({ waitUntil: 'load' }).catch(() => {}), bare.click('#login button[type=submit]')]);
  await bare.waitForFunction(() => document.body.dataset.ready === '1' && document.querySelectorAll('#services tbody tr').length > 0,
    { timeout: 30000, polling: 200 }).catch(() => fail('logged in through the form, the stats did not show'));
  if (await bare.$eval('#login', (e) => !e.hidden)) fail('the login form stays after logging in');
  log('dashboard, bare address on the web broker: the login form (no figures for anonymous), logged in through it: stats shown');
  await bare.close();

  /* the dashboard, logged in */
  const page = await env.browser.newPage();
  await page.setViewport({ width: 1920, height: 1080 });
  page.on('pageerror', (e) => log('page error:', e.message));
  await page.goto(`http://127.0.0.1:${env.ws}/index.html#site=${s}&view=reports&lang=vi&user=${dash.username}&pass=${encodeURIComponent(dash.password)}`);
  await page.waitForFunction(() => document.body.dataset.ready === '1', { timeout: 30000 });
  const hash = await page.evaluate(() => location.hash);
  if (hash.includes('pass')) fail(`the password stays in the address bar: ${hash}`);
  await page.click('#r-go');
  await page.waitForFunction(() => Number(document.body.dataset.reportBytes || 0) > 0
    || /Không tạo/.test(document.querySelector('#r-status').textContent), { timeout: 45000 });
  const status = await page.$eval('#r-status', (e) => e.textContent);
  if (!(Number(await page.evaluate(() => document.body.dataset.reportBytes || 0)) > 0)) fail(`report through the provisioned ACL: ${status}`);
  /* the counter table: qms/<site>/counters, which the ACL lets the dashboard read */
  await page.waitForFunction((n) => document.querySelectorAll('#counters tbody tr').length === n, { timeout: 20000 },
    env.center.counters.length).catch(() => fail('the counters did not reach the dashboard through the provisioned ACL'));
  log(`dashboard as ${dash.username}: stats shown, ${env.center.counters.length} counters, report answered (${status})`);
  /* a wrong password: refused, the login form is shown */
  const bad = await env.browser.newPage();
  await bad.goto(`http://127.0.0.1:${env.ws}/index.html#site=${s}&user=dashboard&pass=wrong`);
  await bad.waitForFunction(() => !document.querySelector('#login').hidden, { timeout: 20000, polling: 200 });
  if (await bad.evaluate(() => document.body.dataset.ready === '1')) fail('a wrong password showed the center');
  await bad.close();

  /* anonymous (or auth) over websockets, on the web broker */
  const anon = (id, topics, pubs, auth = {}) => new Promise((resolve, reject) => {
    const got = [], acks = [];
    const c = mqtt.connect(`ws://127.0.0.1:${env.ws}/mqtt`, { protocolVersion: 5, clientId: id, reconnectPeriod: 0, connectTimeout: 10000, ...auth });
    c.on('error', (e) => { c.end(true); reject(e); });
    c.on('message', (t) => got.push(t));
    c.on('connect', () => {
      c.subscribe(topics, { qos: 1 }, () => {
        for (const [t, m] of pubs) {
          c.publish(t, m, { qos: 1, properties: { responseTopic: `qms/${s}/reply/${id}/x` } },
            (e) => acks.push(e ? (e.code || e.message) : 0));
        }
        setTimeout(() => { c.end(true); resolve({ got, acks }); }, 2500);
      });
    });
  });
  const mine = `qms/${s}/ticket/${take.token}/status`;
  const all = [mine, `qms/${s}/ticket/+/status`, `qms/${s}/stats`, `qms/${s}/counter/+/queue`, `qms/${s}/counter/+/state`,
    `qms/${s}/counters`, `qms/${s}/alerts`, `qms/${s}/config`, `qms/${s}/calls/recent`, `qms/${s}/reply/#`, '#'];
  const reqs = [[`qms/${s}/ticket/take`, JSON.stringify({ req: 'anon-take', service: 'TP' })],
    [`qms/${s}/counter/1/cmd`, JSON.stringify({ req: 'anon-next', op: 'next' })],
    [`qms/${s}/alert/ack`, JSON.stringify({ req: 'anon-ack', id: 'x', who: 'x' })]];
  const a = await anon(take.token, all, reqs);
  /* the configuration (services, hours, calendar: no secrets) is public:
   * the citizen's booking page needs it (docs/provision.md) */
  const cfgTopic = `qms/${s}/config`;
  const foreign = a.got.filter((t) => t !== mine && t !== cfgTopic);
  if (!a.got.includes(mine)) fail('anonymous with the token did not get its own ticket');
  if (!a.got.includes(cfgTopic)) fail('anonymous did not get the public configuration');
  if (foreign.length) fail(`anonymous read ${foreign.join(', ')}`);
  if (a.acks.length !== reqs.length || a.acks.some((x) => x !== 135)) fail(`anonymous publishes: ${JSON.stringify(a.acks)} (want 135 not authorized)`);
  const b = await anon('someone-else', all, []);
  const bForeign = b.got.filter((t) => t !== cfgTopic);
  if (bForeign.length) fail(`anonymous with another id read ${bForeign.join(', ')}`);
  /* the controller still answers, and nothing anonymous was taken */
  takeAsKiosk('prov-take-2');
  if (tickets() !== before + 1) fail(`tickets ${before} -> ${tickets()}: an anonymous request was executed`);
  log(`anonymous (ws): own ticket and the public config only (${a.got.length} deliveries), nothing of ${all.length - 1} other subscriptions, ${reqs.length} requests refused (135)`);
  /* the citizen's page, anonymous, with the token */
  const tp = await env.browser.newPage();
  await tp.setViewport({ width: 412, height: 860, isMobile: true });
  await tp.bringToFront();
  await tp.goto(`http://127.0.0.1:${env.ws}/ticket.html#s=${s}&t=${take.token}`);
  await tp.waitForFunction(() => document.body.dataset.state === 'waiting', { timeout: 20000, polling: 200 });
  const number = await tp.$eval('#number', (e) => e.textContent);
  if (number !== take.ticket) fail(`ticket page shows ${number}, the take gave ${take.ticket}`);
  if (process.env.QMS_SHOTS) {
    await page.bringToFront();
    await page.click('[data-view=now]');
    await page.screenshot({ path: path.join(process.env.QMS_SHOTS, 'provisioned-now-vi.png') });
    await tp.screenshot({ path: path.join(process.env.QMS_SHOTS, 'provisioned-ticket-vi.png') });
  }
  log(`ticket page (anonymous): ${number}`);
  /* another page's replies: an anonymous listener on reply/# and "#" while
   * a booking page (anonymous, its own client id) asks for slots */
  const spy = anon(`spy${Date.now()}`, [`qms/${s}/reply/#`, '#'], []);
  await sleep(500);
  const victimId = `web${Date.now().toString(16)}`;
  const victim = await new Promise((resolve, reject) => {
    const c = mqtt.connect(`ws://127.0.0.1:${env.ws}/mqtt`, { protocolVersion: 5, clientId: victimId, reconnectPeriod: 0, connectTimeout: 10000 });
    const rt = `qms/${s}/reply/web/${victimId}`;
    const timer = setTimeout(() => { c.end(true); reject(new Error('the booking page\'s slots request had no reply')); }, 15000);
    c.on('error', (e) => { clearTimeout(timer); c.end(true); reject(e); });
    c.on('message', (t, m) => { if (t === rt) { clearTimeout(timer); c.end(true); resolve(JSON.parse(String(m))); } });
    c.on('connect', () => c.subscribe(rt, { qos: 1 }, () => c.publish(`qms/${s}/booking/slots`,
      JSON.stringify({ req: `${victimId}-1`, service: 'TP', day: openDay(env.center) }), { qos: 1, properties: { responseTopic: rt } })));
  });
  if (victim.req !== `${victimId}-1`) fail(`the booking page's reply: ${JSON.stringify(victim)}`);
  const spied = await spy;
  const spiedForeign = spied.got.filter((t) => t !== cfgTopic);
  if (spiedForeign.length) fail(`an anonymous listener read ${spiedForeign.join(', ')}`);
  log(`anonymous (ws): a booking page's reply reached it (${victim.error || 'ok'}); a listener on reply/# and # got none of it`);
  /* the dashboard user over websockets: the pages' requests only; a forged
   * call does not reach the site broker (read there by its dashboard user) */
  const siteCall = start('sub-site-call', 'mosquitto_sub', ['-h', '127.0.0.1', '-p', String(env.port), '-u', dash.username, '-P', dash.password,
    '-t', `qms/${s}/call`], { stdout: 'pipe' });
  let siteGot = '';
  siteCall.stdout.on('data', (d) => { siteGot += d; });
  await sleep(500);
  const dreqs = [[`qms/${s}/ticket/take`, JSON.stringify({ req: 'dash-take', service: 'TP' })],
    [`qms/${s}/counter/1/cmd`, JSON.stringify({ req: 'dash-next', op: 'next' })],
    [`qms/${s}/call`, JSON.stringify({ ticket: 'FORGED', counter: 1 })],
    [`qms/${s}/booking/make`, JSON.stringify({ req: 'dash-book', service: 'TP', day: openDay(env.center), slot: '08:00', cccd: '079188000123' })]];
  const d = await anon(`dash-ws-${Date.now()}`, [], dreqs, { username: dash.username, password: dash.password });
  if (d.acks.length !== dreqs.length || d.acks.some((x) => x !== 135)) fail(`the dashboard's forbidden publishes: ${JSON.stringify(d.acks)} (want 135)`);
  /* a real call, by a counter on the site broker: the listener there works */
  const ctr = env.center.counters.find((k) => k.services.includes('TP'));
  const cc = cred(`counter-${ctr.id}`);
  const next = JSON.parse(execFileSync('mosquitto_rr', ['-V', '5', '-h', '127.0.0.1', '-p', String(env.port),
    '-u', cc.username, '-P', cc.password, '-i', `${cc.username}-test`, '-t', `qms/${s}/counter/${ctr.id}/cmd`,
    '-e', `qms/${s}/reply/${cc.username}/${cc.username}-test/n1`, '-W', '10',
    '-m', JSON.stringify({ req: 'prov-next-1', op: 'next' })], { encoding: 'utf8' }));
  if (!next.ticket) fail(`next at counter ${ctr.id}: ${JSON.stringify(next)}`);
  await waitFor('the real call on the site broker', () => siteGot.includes(next.ticket), 10000);
  /* the called ticket's page follows, through the bridge */
  if (next.ticket === take.ticket) {
    await tp.waitForFunction(() => document.body.dataset.state === 'called', { timeout: 20000, polling: 200 })
      .catch(() => fail('the ticket page did not show its call'));
    log(`ticket page (anonymous): ${take.ticket} called, live through the bridge`);
  }
  siteCall.kill('SIGTERM');
  if (siteGot.includes('FORGED')) fail(`the site broker got the call the dashboard forged on the web broker: ${siteGot}`);
  if (tickets() !== before + 1) fail(`tickets ${before} -> ${tickets()}: the dashboard's take was executed`);
  log(`dashboard (ws): ${dreqs.length} forbidden publishes refused (135), none on the site broker (which carried the real call ${next.ticket})`);
  /* no anonymous client on either plain listener */
  for (const lp of [env.port, p.webPort]) {
    let refused = '';
    try {
      execFileSync('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(lp), '-t', `qms/${s}/stats`, '-C', '1', '-W', '3'], { stdio: 'pipe' });
    } catch (e) { refused = String(e.stderr); }
    if (!/not authori[sz]ed|refused/i.test(refused)) fail(`anonymous on the loopback listener ${lp}: "${refused}"`);
  }
  /* the site broker serves no browser: no websockets listener there */
  if (/websockets/.test(fs.readFileSync(path.join(p.dir, 'mosquitto.conf'), 'utf8'))) fail('the site broker has a websockets listener');
}

/* Screenshots of each view in both languages (docs/img/). */
async function caseShots(env) {
  const dir = process.env.QMS_SHOTS || path.join(srcDir, 'docs/img');
  fs.mkdirSync(dir, { recursive: true });
  const drv = start('driver', bin('qms-demo-driver'), ['--config', env.cfg, '--trace',
    path.join(srcDir, 'examples/day-500.csv'), '--broker', `127.0.0.1:${env.port}`, '--clock', 'controller', '--limit', '300']);
  await sleep(25000); /* the morning is under way (one clock, 240x): the shots show it live */
  pub(env.port, `qms/${env.site}/device/kiosk/k2/status`, '{"state":"online","printer":"paper_low","kiosk":"k2"}', true);
  pub(env.port, `qms/${env.site}/device/display/hall/status`, '{"state":"offline"}', true);
  await sleep(1500);
  for (const lang of ['vi', 'en']) {
    for (const view of ['now', 'alerts', 'today', 'reports']) {
      const page = await openDash(env, view, lang);
      await page.waitForFunction(() => document.body.dataset.ready === '1', { timeout: 20000 });
      if (view === 'reports') {
        await page.click('#r-go');
        await page.waitForFunction(() => Number(document.body.dataset.reportBytes || 0) > 0, { timeout: 30000 });
      }
      await sleep(500);
      await page.screenshot({ path: path.join(dir, `dashboard-${view}-${lang}.png`) });
      await page.close();
    }
  }
  const phone = await openDash(env, 'now', 'vi', { width: 412, height: 860, isMobile: true });
  await phone.waitForFunction(() => document.body.dataset.ready === '1', { timeout: 20000 });
  await phone.screenshot({ path: path.join(dir, 'dashboard-now-phone-vi.png') });
  drv.kill('SIGTERM');
  process.env.QMS_SHOTS = dir;
  await caseTicket(env);
}

/* The citizen's booking page (book.html): the form in vi and en, a CCCD
 * number that is not 12 digits refused on the page, a booking made; its QR
 * read from a screenshot by zbarimg is the code the page shows, and an
 * outside client (mosquitto_rr) hears the controller know that code (a
 * check-in today is refused as appt_wrong_day: the booking is for another
 * day, not unknown). Tomorrow is a holiday in the center's calendar: the
 * page says the center is closed and shows no slots; the test books the next
 * open day, whatever today's weekday. The same citizen booking the same service again gets the
 * controller's words on the page. Screenshots: docs/img/book-*.png with
 * QMS_SHOTS. */
async function caseBook(env) {
  const shots = process.env.QMS_SHOTS || tmp;
  const open = async (lang) => {
    const page = await env.browser.newPage();
    await page.setViewport({ width: 480, height: 1100 });
    page.on('pageerror', (e) => log('page error:', e.message));
    await page.goto(`http://127.0.0.1:${env.ws}/book.html#s=${env.site}&lang=${lang}`);
    await page.waitForFunction(() => document.body.dataset.ready === '1', { timeout: 20000 });
    /* tomorrow is a holiday (setup's calendar): the page says closed, no slots;
     * then the next day with free places, as a citizen would pick it */
    const pick = async (i) => {
      await page.evaluate((k) => { const d = document.getElementById('day'); d.selectedIndex = k; d.dispatchEvent(new Event('change')); }, i);
      await page.waitForFunction(() => document.querySelector('#slots .note, #slots button.slot'), { timeout: 20000 });
      return page.evaluate(() => ({ day: document.getElementById('day').value,
        closed: !!document.querySelector('#slots [data-closed]'), note: (document.querySelector('#slots .note') || {}).textContent || '',
        free: document.querySelectorAll('#slots button.slot:not([disabled])').length }));
    };
    const t = await pick(1);
    if (t.day !== env.holiday || !t.closed || t.free) fail(`the holiday ${env.holiday}: ${JSON.stringify(t)}`);
    if (!t.note.includes(lang === 'en' ? 'closed on this day' : 'Trung tâm nghỉ')) fail(`the holiday's words "${t.note}"`);
    if (lang === 'vi') await page.screenshot({ path: path.join(shots, 'book-closed-vi.png') });
    const n = await page.$eval('#day', (d) => d.options.length);
    let open = null;
    for (let i = 2; i < n && !open; i++) if ((await pick(i)).free) open = i;
    if (!open) fail('no open day with free places in the booking window');
    return page;
  };
  const page = await open('vi');
  const charset = await page.evaluate(() => document.characterSet);
  if (charset !== 'UTF-8') fail(`book.html charset ${charset}`);
  const firstSlot = await page.$eval('#slots button.slot', (b) => b.textContent);
  if (!/^07:30 \(\d+\)$/.test(firstSlot)) fail(`first slot "${firstSlot}"`);
  await page.click('#slots button.slot:nth-child(4)');
  await page.type('#cccd', '12345');
  await page.evaluate(() => document.getElementById('form').requestSubmit());
  const err = await page.$eval('#error', (e) => e.textContent);
  if (!err.includes('12 chữ số')) fail(`a short CCCD number: "${err}"`);
  await page.screenshot({ path: path.join(shots, 'book-form-vi.png') });
  await page.$eval('#cccd', (e) => { e.value = ''; });
  await page.type('#cccd', '001099012345');
  await page.evaluate(() => document.getElementById('form').requestSubmit());
  await page.waitForFunction(() => document.body.dataset.result, { timeout: 20000 });
  const result = await page.evaluate(() => document.body.dataset.result);
  if (result !== 'booked') fail(`booking: ${result} ${await page.$eval('#error', (e) => e.textContent)}`);
  const shown = await page.$eval('#code', (e) => e.textContent);
  const details = await page.$eval('#details', (e) => e.textContent);
  if (!/^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(shown)) fail(`code shown "${shown}"`);
  if (!details.includes('09:00')) fail(`details "${details}"`);
  const donePng = path.join(shots, 'book-done-vi.png');
  await page.screenshot({ path: donePng, fullPage: true });
  const qr = execFileSync('zbarimg', ['-q', '--raw', donePng], { encoding: 'utf8' }).trim();
  if (qr !== shown.replace('-', '')) fail(`QR says "${qr}", the page "${shown}"`);
  const out = execFileSync('mosquitto_rr', ['-V', '5', '-h', '127.0.0.1', '-p', String(env.port), '-i', 'rr-book',
    '-t', `qms/${env.site}/ticket/take`, '-e', `qms/${env.site}/reply/rr-book`, '-W', '10',
    '-m', JSON.stringify({ req: 'rr-1', appointment: qr })], { encoding: 'utf8' });
  if (!out.includes('"appt_wrong_day"')) fail(`check-in of the booked code today: ${out}`);
  log(`book: code ${shown}, QR ${qr}, controller: ${JSON.parse(out).error}`);
  await page.close();
  /* English; the same citizen, the same service and day again: refused in words */
  const en = await open('en');
  const title = await en.$eval('h1', (e) => e.textContent);
  if (title !== 'Book an appointment') fail(`en title "${title}"`);
  await en.click('#slots button.slot:nth-child(6)');
  await en.type('#cccd', '001099012345');
  await en.evaluate(() => document.getElementById('form').requestSubmit());
  await en.waitForFunction(() => document.body.dataset.result, { timeout: 20000 });
  const r2 = await en.evaluate(() => document.body.dataset.result);
  const e2 = await en.$eval('#error', (e) => e.textContent);
  if (r2 !== 'booking_same_service' || !e2.includes('already have a booking')) fail(`second booking: ${r2} "${e2}"`);
  await en.screenshot({ path: path.join(shots, 'book-refused-en.png') });
  await en.$eval('#cccd', (e) => { e.value = ''; });
  await en.type('#cccd', '079188000777');
  await en.evaluate(() => document.getElementById('form').requestSubmit());
  await en.waitForFunction(() => document.body.dataset.result === 'booked', { timeout: 20000 });
  await en.screenshot({ path: path.join(shots, 'book-done-en.png'), fullPage: true });
  const qr2 = execFileSync('zbarimg', ['-q', '--raw', path.join(shots, 'book-done-en.png')], { encoding: 'utf8' }).trim();
  const shown2 = await en.$eval('#code', (e) => e.textContent);
  if (qr2 !== shown2.replace('-', '') || qr2 === qr) fail(`second QR "${qr2}", page "${shown2}"`);
}

/* The province view (province.html) on a "province broker": a real mosquitto
 * (plain + websockets serving build/dashboard/) holding what the hub and two
 * sites' bridges publish there (docs/province.md), as retained fixtures. The
 * numbers on the page are compared with those messages read back by an
 * outside client (mosquitto_sub); then the hub says site s2 has a gap and
 * the page must follow. Screenshots in the temporary folder, or docs/img/province-{vi,en}.png with
 * QMS_SHOTS=docs/img.
 * The province broker wants a login, as docs/province.md sets it up: the
 * page is refused, shows its login form, is refused again with a wrong
 * password, and logs in as the read-only viewer typed in the form. */
const PROVINCE_USERS = { feeder: 'feed-9f2c', hub: 'hub-77ad', viewer: 'xem-tinh-51' };
async function setupProvince() {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qms-browser-'));
  const port = await freePort();
  const ws = await freePort();
  fs.chmodSync(tmp, 0o755); /* mosquitto started as root reads its files as user mosquitto */
  const pw = path.join(tmp, 'passwd');
  fs.writeFileSync(pw, '');
  for (const [u, p] of Object.entries(PROVINCE_USERS)) execFileSync('mosquitto_passwd', ['-b', pw, u, p]);
  /* the ACL of docs/province.md's viewer: what province.html reads, nothing else */
  fs.writeFileSync(path.join(tmp, 'acl'), ['user feeder', 'topic readwrite #', 'user hub', 'topic readwrite qms/#',
    'user viewer', 'topic read qms/province/#', 'topic read qms/+/config', 'topic read qms/+/stats',
    'topic read qms/+/stats/hourly', 'topic read qms/+/alerts', 'topic read qms/+/bridge/state', ''].join('\n'));
  fs.writeFileSync(path.join(tmp, 'mosquitto.conf'), [
    'per_listener_settings false', `password_file ${pw}`, `acl_file ${path.join(tmp, 'acl')}`, 'allow_anonymous false',
    `listener ${port} 127.0.0.1`,
    `listener ${ws} 127.0.0.1`, 'protocol websockets', `http_dir ${path.join(buildDir, 'dashboard')}`,
    'set_tcp_nodelay true', 'persistence false', ''].join('\n'));
  brokerAuth = ['-u', 'feeder', '-P', PROVINCE_USERS.feeder];
  start('mosquitto', '/usr/sbin/mosquitto', ['-c', path.join(tmp, 'mosquitto.conf')]);
  await waitPort(port);
  await waitPort(ws);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  watch404(browser);
  return { port, ws, browser };
}

async function caseProvince(env) {
  const now = Date.now();
  const center = JSON.parse(fs.readFileSync(path.join(srcDir, 'examples/center.json'), 'utf8'));
  const P = (t, o) => pub(env.port, t, JSON.stringify(o), true);
  P('qms/province/hub/status', { state: 'online', sites: 2, sites_with_gaps: 0, messages: 812 });
  P('qms/province/site/s1/state', { site: 's1', applied: 640, head: 640, missing: 0, gap: false, stored: 640, repeats: 150, last_event_ms: now - 5000, at_ms: now });
  P('qms/province/site/s2/state', { site: 's2', applied: 301, head: 301, missing: 0, gap: false, stored: 301, repeats: 0, last_event_ms: now - 125000, at_ms: now });
  /* s1 has its center's config (the name with every diacritic); s2 none: its id */
  P('qms/s1/config', { ...center, site: 's1' });
  const stats = (w, t, sv, m, sh) => ({ at_ms: now, day: '2026-12-05', services: [],
    today: { taken: t, served: sv, noshow: 3, mean_wait_s: m, waiting: w, ratings: 20, satisfied_share: sh }, counters: [] });
  P('qms/s1/stats', stats(7, 212, 198, 431, 0.85));
  P('qms/s2/stats', stats(2, 57, 55, 95, null));
  P('qms/s1/stats/hourly', { day: '2026-12-05', at_ms: now, hours: [7, 8, 9], taken: [50, 90, 72], served: [40, 88, 70],
    services: [{ code: 'TP', mean_wait_s: [96, 250, null], p90_wait_s: [216, 750, null] },
      { code: 'DD', mean_wait_s: [100, 300, 500], p90_wait_s: [200, 900, 1300] }], ratings: 20, satisfied_share: 0.85 });
  P('qms/s2/stats/hourly', { day: '2026-12-05', at_ms: now, hours: [8], taken: [57], served: [55],
    services: [{ code: 'TP', mean_wait_s: [95], p90_wait_s: [180] }], ratings: 0, satisfied_share: null });
  P('qms/s1/alerts', { at_ms: now, alerts: [
    { id: 'device_offline:kiosk/k1', kind: 'device_offline', subject: 'kiosk/k1', level: 'critical', since_ms: now - 60000 },
    { id: 'wait:TP', kind: 'wait', subject: 'TP', level: 'warning', since_ms: now - 30000 }] });
  P('qms/s2/alerts', { at_ms: now, alerts: [] });
  pub(env.port, 'qms/s2/bridge/state', '1', true);

  const page = await env.browser.newPage();
  await page.setViewport({ width: 1920, height: 600 });
  page.on('pageerror', (e) => log('page error:', e.message));
  await page.goto(`http://127.0.0.1:${env.ws}/province.html#lang=vi`);
  const charset = await page.evaluate(() => document.characterSet);
  if (charset !== 'UTF-8') fail(`province.html charset ${charset}`);
  /* refused without a login: the form; a wrong password: the form again */
  const refusedForm = () => page.waitForFunction(() => !document.getElementById('login').hidden && document.body.dataset.refused,
    { timeout: 20000 }).catch(() => fail('the page refused by the broker did not show its login form'));
  const typeLogin = async (user, pass) => {
    await page.$eval('#l-user', (e) => { e.value = ''; });
    await page.type('#l-user', user);
    await page.type('#l-pass', pass);
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }).catch(() => {}), page.click('#login button[type=submit]')]);
  };
  await refusedForm();
  if ((await page.$$('#sites tbody tr')).length) fail('sites shown without a login');
  fs.mkdirSync(process.env.QMS_SHOTS || tmp, { recursive: true });
  await page.screenshot({ path: path.join(process.env.QMS_SHOTS || tmp, 'province-login-vi.png') });
  await typeLogin('viewer', 'wrong');
  await refusedForm();
  await typeLogin('viewer', PROVINCE_USERS.viewer);
  log('province: refused without a login and with a wrong password (the form shown); logged in as the viewer');
  /* the viewer reads; it cannot write what the page trusts */
  execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(env.port), '-u', 'viewer', '-P', PROVINCE_USERS.viewer,
    '-q', '1', '-r', '-t', 'qms/province/hub/status', '-m', '{"state":"forged"}']);
  if (retained(env.port, 'qms/province/hub/status').state !== 'online') fail('the viewer could overwrite the hub status');
  const rowsOf = () => page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#sites tbody tr')].map((tr) =>
    [tr.dataset.site, Object.fromEntries([...tr.cells].map((c) => [c.className.replace(' num', ''), c.textContent]))])));
  await page.waitForFunction(() => {
    const r = document.querySelectorAll('#sites tbody tr');
    return r.length === 2 && [...r].every((tr) => tr.querySelector('.alerts').textContent !== '' && tr.querySelector('.stored').textContent !== '–'
      && tr.querySelector('.taken').textContent !== '–' && tr.querySelector('.p90').textContent !== '–')
      && /trực tuyến/.test(document.getElementById('hub').textContent);
  }, { timeout: 20000 }).catch(() => fail('the page never showed both sites'));
  const rows = await rowsOf();
  /* the oracle: what the province broker holds, read by mosquitto_sub */
  const min1 = (s) => `${(Math.round(s / 6) / 10).toFixed(1).replace('.', ',')} phút`;
  for (const id of ['s1', 's2']) {
    const r = rows[id];
    const st = retained(env.port, `qms/province/site/${id}/state`);
    const sx = retained(env.port, `qms/${id}/stats`).today;
    const hr = retained(env.port, `qms/${id}/stats/hourly`);
    const al = retained(env.port, `qms/${id}/alerts`).alerts;
    let cfgName = id;
    try { cfgName = retained(env.port, `qms/${id}/config`).name_vi; } catch (e) { /* none: the id */ }
    const last = hr.hours.length - 1;
    let worst = null;
    for (let i = last; i >= 0 && worst === null; i--) {
      const v = hr.services.map((s) => s.p90_wait_s[i]).filter((x) => x !== null);
      if (v.length) worst = Math.max(...v);
    }
    const crit = al.filter((a) => a.level === 'critical').length;
    const want = {
      name: cfgName, stored: String(st.stored), missing: String(st.missing), gap: st.gap ? 'Có' : 'Không',
      waiting: String(sx.waiting), taken: String(sx.taken), served: String(sx.served), mean: min1(sx.mean_wait_s), p90: min1(worst),
      sipas: sx.satisfied_share === null ? '–' : `${Math.round(sx.satisfied_share * 100)} %`,
      alerts: crit ? `${crit} nghiêm trọng / ${al.length}` : String(al.length),
    };
    for (const [k, v] of Object.entries(want)) if (r[k] !== v) fail(`${id} ${k}: page "${r[k]}", broker "${v}"`);
    const ageS = Math.round((Date.now() - st.last_event_ms) / 1000);
    const m = /^(\d+) (giây|phút) trước$/.exec(r.last);
    const shown = m && (m[2] === 'giây' ? Number(m[1]) : Number(m[1]) * 60);
    if (!m || Math.abs(shown - ageS) > (m[2] === 'giây' ? 5 : 60)) fail(`${id} last event "${r.last}", ${ageS} s ago`);
  }
  log(`province: 2 sites on the page = the broker's retained state/stats/hourly/alerts/config (${JSON.stringify(rows.s1)})`);
  const shots = process.env.QMS_SHOTS || tmp; /* docs/img/province-*.png with QMS_SHOTS=docs/img */
  fs.mkdirSync(shots, { recursive: true });
  /* the hub finds a hole at s2 */
  const t0 = Date.now();
  P('qms/province/site/s2/state', { site: 's2', applied: 301, head: 340, missing: 39, gap: true, stored: 305, repeats: 0, last_event_ms: now - 1000, at_ms: Date.now() });
  P('qms/province/hub/status', { state: 'online', sites: 2, sites_with_gaps: 1, messages: 850 });
  await page.waitForFunction(() => {
    const tr = document.querySelector('#sites tr[data-site=s2]');
    return tr && tr.querySelector('.gap').textContent === 'Có' && tr.querySelector('.missing').textContent === '39'
      && /1 điểm hở/.test(document.getElementById('hub').textContent);
  }, { timeout: 10000 }).catch(() => fail('the page did not follow s2\'s gap'));
  const follow = Date.now() - t0;
  const s1gap = (await rowsOf()).s1.gap;
  if (s1gap !== 'Không') fail(`s1 shows gap "${s1gap}"`);
  log(`province: s2's gap on the page ${follow} ms after the hub's publish (wanted within 2000 ms)`);
  await page.screenshot({ path: path.join(shots, 'province-vi.png') });
  await page.click('.lang-toggle button[data-lang=en]');
  const en = await rowsOf();
  if (en.s1.name !== center.name_en || en.s2.gap !== 'Yes' || en.s1.alerts !== '1 critical / 2') fail(`en: ${JSON.stringify(en)}`);
  await page.screenshot({ path: path.join(shots, 'province-en.png') });
  /* the hub goes away: its last will */
  P('qms/province/hub/status', { state: 'offline' });
  await page.waitForFunction(() => document.getElementById('hub').dataset.state === 'offline', { timeout: 10000 })
    .catch(() => fail('the page did not show the hub offline'));
  log('province: en names and words; hub offline shown');
  /* the real qms-hub on the same broker: a third site's stream, as its
   * bridge delivers it, with a hole (seq 4-5 never come; nobody answers the
   * replay requests): the hub's own state and status reach the page */
  start('hub', bin('qms-hub'), ['--broker', `127.0.0.1:${env.port}`, '--username', 'hub', '--password', PROVINCE_USERS.hub,
    '--db', path.join(tmp, 'hub.db')]);
  await waitFor('the hub online', () => { try { return retained(env.port, 'qms/province/hub/status').state === 'online'; } catch (e) { return false; } });
  const take = (seq) => ({ seq, day: '2026-12-05', at_ms: now - 60000 + seq * 1000, kind: 'take', ticket: seq, label: `A00${seq}`,
    service: 'TP', priority: 0, number: seq, taken_ms: now - 60000 + seq * 1000 });
  pub(env.port, 'qms/s3/stream', JSON.stringify({ site: 's3', from: 1, to: 3, head: 3, events: [1, 2, 3].map(take) }));
  pub(env.port, 'qms/s3/stream', JSON.stringify({ site: 's3', from: 6, to: 7, head: 7, events: [6, 7].map(take) }));
  let hs = null, hst = null;
  await waitFor('the hub to report s3\'s gap', () => {
    try {
      hs = retained(env.port, 'qms/province/site/s3/state');
      hst = retained(env.port, 'qms/province/hub/status');
      return hs.gap === true && hs.stored === 5 && hst.state === 'online' && hst.sites_with_gaps === 1;
    } catch (e) { return false; }
  }, 30000);
  await page.click('.lang-toggle button[data-lang=vi]');
  await page.waitForFunction((st, h) => {
    const tr = document.querySelector('#sites tr[data-site=s3]');
    return tr && tr.querySelector('.stored').textContent === String(st.stored) && tr.querySelector('.missing').textContent === String(st.missing)
      && tr.querySelector('.gap').textContent === 'Có'
      && document.getElementById('hub').textContent === `Hub: trực tuyến · ${h.sites} điểm · ${h.sites_with_gaps} điểm hở dữ liệu`;
  }, { timeout: 20000 }, hs, hst).catch(async () => fail(`s3 from the real hub ${JSON.stringify(hs)} ${JSON.stringify(hst)}: page ${JSON.stringify((await rowsOf()).s3)}`));
  log(`province: the real qms-hub's state for s3 on the page: ${JSON.stringify(hs)}, status ${JSON.stringify(hst)}`);
}

(async () => {
  const cases = { stats: caseStats, alert: caseAlert, ticket: caseTicket, shots: caseShots, book: caseBook, provisioned: caseProvisioned, province: caseProvince };
  if (!cases[which]) { console.error('usage: browser.test.js BUILD SRC stats|alert|ticket|shots|book|provisioned|province'); process.exit(2); }
  let env = null;
  let code = 0;
  try {
    /* one clock: the controller runs fast, the simulated citizens follow it */
    /* book: tomorrow (the center's local day) is a holiday in the calendar */
    const holiday = new Date(Date.now() + (420 + 24 * 60) * 60000).toISOString().slice(0, 10);
    env = which === 'province' ? await setupProvince() : await setup({ speed: which === 'stats' ? 600 : which === 'shots' ? 240 : 1, provisioned: which === 'provisioned',
      center: which === 'book' ? { calendar: { holidays: [holiday] } } : undefined });
    env.holiday = holiday;
    await cases[which](env);
    await sleep(500); /* a late favicon request */
    if (notFound.length) fail(`404 for ${[...new Set(notFound)].join(', ')}`);
    log(`PASS ${which}`);
  } catch (e) {
    console.error(`FAIL ${which}: ${e.message}`);
    if (tmp) console.error(`logs in ${tmp}`);
    code = 1;
  } finally {
    if (env && env.browser) await env.browser.close().catch(() => {});
    stopAll();
    await sleep(300);
    if (code === 0 && tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.exit(code);
})();
