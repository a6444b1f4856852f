/* The manager's dashboard: index.html#site=<site> (or the first center whose
 * config the broker holds). Reads only retained topics and events of the
 * controller (docs/protocol.md); the one thing it sends is an alert
 * acknowledgement (qms/<site>/alert/ack). Views: now, alerts, today.
 * Memory stays flat: maps keyed by what the center has (services, counters,
 * devices: capped); the charts are redrawn from the hourly topic (24 points). */
'use strict';

(() => {
  const MAX_DEVICES = 500;
  const $ = (id) => document.getElementById(id);
  const st = {
    site: QMS.params.get('site') || '',
    config: null,
    stats: null,
    counters: new Map(),
    devices: new Map(),
    alerts: [],
    seenAlerts: new Set(),
    lastStatsArrival: 0,
    messages: 0,
  };
  Object.defineProperty(window, 'qmsMessages', { get: () => st.messages });
  let client = null;
  let dirty = false;

  /* ---- views ---- */
  function show(view) {
    document.querySelectorAll('.view').forEach((v) => { v.hidden = v.id !== `view-${view}`; });
    document.querySelectorAll('.tabs button').forEach((b) => {
      b.setAttribute('aria-selected', String(b.dataset.view === view));
    });
    location.hash = new URLSearchParams({ ...Object.fromEntries(QMS.params), view }).toString();
    if (view === 'today') drawChart();
  }
  document.querySelectorAll('.tabs button').forEach((b) => b.addEventListener('click', () => show(b.dataset.view)));

  const name = (o) => (QMS.lang === 'en' ? (o.name_en || o.name_vi) : o.name_vi) || '';
  const offset = () => (st.config ? st.config.utc_offset_min : 420);
  const serviceCfg = (code) => (st.config ? st.config.services.find((s) => s.code === code) : null);
  const threshold = (code) => {
    const s = serviceCfg(code);
    return (s && s.alert_wait_s) || (st.config && st.config.alert_wait_s) || 1800;
  };

  function renderNow() {
    const tb = $('services').tBodies[0];
    tb.textContent = '';
    const services = st.stats ? st.stats.services : [];
    for (const s of services) {
      const cfg = serviceCfg(s.code);
      const thr = threshold(s.code);
      const level = s.waiting > 0 && s.longest_wait_s > 2 * thr ? 'crit'
        : s.waiting > 0 && s.longest_wait_s > thr ? 'warn'
          : s.waiting > 0 && s.longest_wait_s > thr * 0.75 ? 'near' : 'ok';
      tb.append(QMS.el('tr', { 'data-code': s.code, class: `lvl-${level}` },
        QMS.el('td', { class: 'name' }, cfg ? name(cfg) : s.code),
        QMS.el('td', { class: 'waiting num' }, s.waiting),
        QMS.el('td', { class: 'longest num' }, QMS.minutes(s.longest_wait_s)),
        QMS.el('td', { class: 'eta num' }, QMS.minutes(s.eta_s)),
        QMS.el('td', { class: 'served num' }, s.served),
        QMS.el('td', { class: 'mean num' }, QMS.minutes(s.mean_wait_s)),
        QMS.el('td', { class: 'thr num' }, QMS.minutes(thr))));
    }
    const cb = $('counters').tBodies[0];
    cb.textContent = '';
    const ids = [...st.counters.keys()].sort((a, b) => a - b);
    /* served today and mean service time: the controller's stats, per counter */
    const perCounter = new Map(((st.stats && st.stats.counters) || []).map((k) => [k.counter, k]));
    for (const id of ids) {
      const c = st.counters.get(id);
      const k = perCounter.get(id);
      const mean = k && typeof k.mean_service_s === 'number' ? k.mean_service_s : null;
      const words = { open: ['Mở', 'Open'], paused: ['Tạm dừng', 'Paused'], closed: ['Đóng', 'Closed'] }[c.state] || [c.state, c.state];
      cb.append(QMS.el('tr', { 'data-counter': id, class: `st-${c.state}` },
        QMS.el('td', { class: 'name' }, name(c) || String(id)),
        QMS.el('td', { class: 'state' }, QMS.t(words[0], words[1])),
        QMS.el('td', { class: 'ticket num' }, c.ticket || '–'),
        QMS.el('td', { class: 'staff' }, c.staff || '–'),
        QMS.el('td', { class: 'waiting num' }, c.waiting ?? '–'),
        QMS.el('td', { class: 'served num' }, k ? k.served : '–'),
        QMS.el('td', { class: 'mean-service num', 'data-s': mean === null ? '' : String(mean) }, QMS.minutes1(mean)),
        QMS.el('td', { class: 'since num' }, QMS.hhmm(c.since_ms, offset()))));
    }
    const db = $('devices').tBodies[0];
    db.textContent = '';
    for (const key of [...st.devices.keys()].sort()) {
      const d = st.devices.get(key);
      const on = d.state !== 'offline';
      db.append(QMS.el('tr', { 'data-device': key, class: on ? 'on' : 'off' },
        QMS.el('td', {}, key),
        QMS.el('td', { class: 'dev-link' }, on ? QMS.t('Trực tuyến', 'Online') : QMS.t('Mất kết nối', 'Offline')),
        QMS.el('td', { class: 'printer' }, d.printer || '–')));
    }
  }

  function renderAlerts() {
    const ul = $('alerts');
    ul.textContent = '';
    $('no-alerts').hidden = st.alerts.length > 0;
    const badge = $('alert-count');
    badge.hidden = st.alerts.length === 0;
    badge.textContent = String(st.alerts.length);
    for (const a of st.alerts) {
      const msg = QMS.lang === 'en' ? a.message_en : a.message_vi;
      const since = QMS.hhmm(a.since_ms, offset());
      const li = QMS.el('li', { 'data-id': a.id, class: `alert ${a.level}${a.acked_by ? ' acked' : ''}` },
        QMS.el('span', { class: 'level' }, a.level === 'critical' ? QMS.t('Nghiêm trọng', 'Critical') : QMS.t('Cảnh báo', 'Warning')),
        QMS.el('span', { class: 'msg' }, msg),
        QMS.el('span', { class: 'since' }, QMS.t(`từ ${since}`, `since ${since}`)));
      if (a.acked_by) {
        li.append(QMS.el('span', { class: 'ack' }, QMS.t(`Đã xác nhận: ${a.acked_by} lúc ${QMS.hhmm(a.acked_ms, offset())}`,
          `Acknowledged by ${a.acked_by} at ${QMS.hhmm(a.acked_ms, offset())}`)));
      } else {
        li.append(QMS.el('button', { class: 'ack-btn', onclick: () => ack(a.id) }, QMS.t('Xác nhận', 'Acknowledge')));
      }
      ul.append(li);
    }
  }

  function renderToday() {
    const box = $('today-cards');
    box.textContent = '';
    const td = st.stats && st.stats.today;
    if (!td) return;
    const share = td.satisfied_share === null || td.satisfied_share === undefined ? '–'
      : `${Math.round(td.satisfied_share * 100)} %`;
    const cards = [
      ['taken', 'Đã lấy số', 'Tickets taken', td.taken],
      ['served', 'Đã phục vụ', 'Served', td.served],
      ['waiting', 'Đang chờ', 'Waiting', td.waiting],
      ['noshow', 'Vắng mặt', 'No-shows', td.noshow],
      ['mean', 'Chờ trung bình', 'Mean wait', QMS.minutes(td.mean_wait_s)],
      ['sipas', 'Hài lòng (SIPAS)', 'Satisfied (SIPAS)', share],
    ];
    for (const [k, vi, en, v] of cards) {
      box.append(QMS.el('div', { class: 'card', 'data-k': k },
        QMS.el('div', { class: 'v' }, String(v)), QMS.el('div', { class: 'k' }, QMS.t(vi, en))));
    }
  }

  /* two charts from qms/<site>/stats/hourly: x = the local hour */
  const charts = {};
  function plot(id, series, data) {
    const box = $(id);
    if (box.offsetParent === null || typeof uPlot === 'undefined' || !data[0].length) return;
    const width = Math.max(300, box.clientWidth || 800);
    const key = `${width}|${QMS.lang}|${series.map((x) => x.label).join()}`;
    if (charts[id] && charts[id].key === key) { charts[id].u.setData(data); return; }
    if (charts[id]) charts[id].u.destroy();
    const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.4, 40] }) : undefined;
    const u = new uPlot({
      width, height: 260,
      /* counts and minutes: the y axis starts at 0 (uPlot's own range
       * starts near the smallest value, making small bars look empty) */
      scales: { x: { time: false, range: (u, a, b) => [a - 0.5, b + 0.5] },
        y: { range: (u, a, b) => [0, b > 0 ? b * 1.1 : 1] } },
      hooks: { setScale: [(u, k) => { if (k === 'y') box.dataset.ymin = String(u.scales.y.min); }] },
      axes: [{ values: (u, v) => v.map((h) => (Number.isInteger(h) ? `${h}h` : '')) }, {}],
      series: [{ label: QMS.t('Giờ', 'Hour') }, ...series.map((x) => (x.bars && bars ? { ...x, paths: bars } : x))],
    }, data, box);
    charts[id] = { u, key };
  }
  function drawChart() {
    const hr = st.hourly;
    if (!hr || !Array.isArray(hr.hours)) return;
    plot('chart-flow', [
      { label: QMS.t('Lấy số', 'Arrivals'), stroke: '#c0392b', fill: '#c0392b55', bars: true },
      { label: QMS.t('Đã phục vụ', 'Served'), stroke: '#2471a3', width: 3 },
    ], [hr.hours, hr.taken, hr.served]);
    const pick = $('svc-pick');
    if (pick.options.length !== hr.services.length) {
      pick.textContent = '';
      for (const s of hr.services) {
        const cfg = serviceCfg(s.code);
        pick.append(QMS.el('option', { value: s.code }, cfg ? name(cfg) : s.code));
      }
    }
    const s = hr.services.find((x) => x.code === pick.value) || hr.services[0];
    if (!s) return;
    const min = (a) => a.map((v) => (v === null ? null : Math.round(v / 6) / 10));
    plot('chart-wait', [
      { label: QMS.t('Trung bình', 'Mean'), stroke: '#1e8449', width: 3 },
      { label: '90%', stroke: '#ca6f1e', width: 2, dash: [6, 4] },
    ], [hr.hours, min(s.mean_wait_s), min(s.p90_wait_s)]);
  }
  $('svc-pick').addEventListener('change', drawChart);

  function render() {
    dirty = false;
    if (st.config) $('center-name').textContent = name(st.config);
    renderNow();
    renderAlerts();
    renderToday();
    if (!$('view-today').hidden) drawChart();
    document.body.dataset.ready = st.stats ? '1' : '0';
  }
  function soon() {
    if (!dirty) { dirty = true; setTimeout(render, 0); } /* not rAF: throttled in a background tab */
  }
  QMS.onLang(() => { $('svc-pick').textContent = ''; render(); });

  /* ---- sound: a short two-tone beep for a newly raised alert ---- */
  let audio = null;
  function beep(critical) {
    if (!$('sound').checked) return;
    try {
      audio = audio || new AudioContext();
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = critical ? 880 : 660;
      g.gain.value = 0.15;
      o.connect(g).connect(audio.destination);
      o.start();
      o.frequency.setValueAtTime(critical ? 660 : 550, audio.currentTime + 0.2);
      o.stop(audio.currentTime + 0.45);
      document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
    } catch (e) { /* no audio: the list still shows it */ }
  }

  /* ---- acknowledgement: a request with our own response topic ---- */
  let reqN = 0;
  $('who').value = localStorage.getItem('qms.who') || '';
  $('who').addEventListener('change', () => localStorage.setItem('qms.who', $('who').value));
  function ack(id) {
    const who = $('who').value.trim();
    if (!who) {
      $('who').focus();
      $('who').placeholder = QMS.t('Nhập tên của bạn', 'Type your name');
      return;
    }
    const req = `${client.options.clientId}-${++reqN}`;
    client.publish(`qms/${st.site}/alert/ack`, JSON.stringify({ req, id, who, lang: QMS.lang }), {
      qos: 1,
      properties: { responseTopic: `${replyBase()}/${req}`, messageExpiryInterval: 10 },
    });
  }

  /* ---- reports: the controller's report op, page by page (docs/protocol.md) ---- */
  const pending = new Map(); /* req -> resolve */
  function request(suffix, body) {
    const req = `${client.options.clientId}-${++reqN}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { pending.delete(req); reject(new Error('timeout')); }, 30000);
      pending.set(req, (js) => { clearTimeout(timer); resolve(js); });
      client.publish(`qms/${st.site}/${suffix}`, JSON.stringify({ ...body, req }), {
        qos: 1,
        properties: { responseTopic: `${replyBase()}/${req}`, messageExpiryInterval: 30 },
      });
    });
  }
  function csvRows(text) { /* RFC 4180, as qms-report writes it */
    const rows = [];
    let row = [], f = '', q = false;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (q) {
        if (ch === '"' && text[i + 1] === '"') { f += '"'; i++; } else if (ch === '"') q = false; else f += ch;
      } else if (ch === '"') q = true;
      else if (ch === ',') { row.push(f); f = ''; } else if (ch === '\n') { row.push(f.replace(/\r$/, '')); rows.push(row); row = []; f = ''; } else f += ch;
    }
    if (f || row.length) { row.push(f); rows.push(row); }
    return rows;
  }
  let lastUrl = null;
  $('report-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const from = $('r-from').value, to = $('r-to').value, by = $('r-by').value;
    $('r-status').textContent = QMS.t('Đang tạo…', 'Working…');
    $('r-download').hidden = true;
    let csv = '';
    try {
      for (let page = 0, pages = 1; page < pages; page++) {
        const r = await request('report', { from, to, by, page, lang: QMS.lang });
        if (r.error) throw new Error(r.message || r.error);
        pages = r.pages;
        csv += r.csv;
        $('r-status').textContent = QMS.t(`Trang ${page + 1}/${pages}`, `Page ${page + 1} of ${pages}`);
      }
    } catch (e) {
      $('r-status').textContent = QMS.t(`Không tạo được báo cáo: ${e.message}`, `No report: ${e.message}`);
      return;
    }
    const rows = csvRows(csv.replace(/^\ufeff/, ''));
    const t = $('r-table');
    t.textContent = '';
    rows.forEach((r, i) => t.append(QMS.el('tr', {}, ...r.map((c) => QMS.el(i ? 'td' : 'th', {}, c)))));
    if (lastUrl) URL.revokeObjectURL(lastUrl);
    lastUrl = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
    const a = $('r-download');
    a.href = lastUrl;
    a.download = `qms-${st.site}-${from}-${to}-${by}.csv`;
    a.hidden = false;
    document.body.dataset.reportBytes = String(new TextEncoder().encode(csv).length);
    $('r-status').textContent = QMS.t(`${rows.length - 1} dòng`, `${rows.length - 1} rows`);
  });
  {
    const d = new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 10);
    $('r-from').value = d;
    $('r-to').value = d;
  }

  /* ---- MQTT ---- */
  function subscribeSite() {
    const s = st.site;
    /* counters: every counter's state in one message, at most every 150 ms
     * (not counter/+/state: one message per call to every open dashboard).
     * The live state (retained, each message replacing the last) at QoS 0:
     * the broker then sends it without waiting for a PUBACK from every
     * dashboard, a third of its work per message (docs/dashboard.md,
     * "Performance"); a message can be lost only with the connection, and a
     * reconnect brings the retained state back. What must not be lost (the
     * config, alert events, replies) at QoS 1. */
    client.subscribe([`qms/${s}/stats`, `qms/${s}/stats/hourly`, `qms/${s}/counters`,
      `qms/${s}/device/+/+/status`, `qms/${s}/alerts`], { qos: 0 });
    client.subscribe([`qms/${s}/config`, `qms/${s}/alert/event`, `${replyBase()}/#`], { qos: 1 });
  }

  function onMessage(topic, payload) {
    st.messages++; /* read by bench_dashboard --day (window.qmsMessages) */
    const parts = topic.split('/');
    if (!st.site && parts[2] === 'config') { /* discovery: the first center */
      st.site = parts[1];
      client.unsubscribe('qms/+/config');
      subscribeSite();
    }
    if (parts[1] !== st.site) return;
    const rest = parts.slice(2).join('/');
    let js = null;
    if (payload.length) {
      try { js = JSON.parse(new TextDecoder().decode(payload)); } catch (e) { return; }
    }
    if (rest === 'config') st.config = js;
    else if (rest === 'stats/hourly') { st.hourly = js; document.body.dataset.hourlyAt = String(js ? js.at_ms : 0); }
    else if (rest === 'stats') {
      st.stats = js;
      st.lastStatsArrival = Date.now();
      document.body.dataset.statsAt = String(js ? js.at_ms : 0);
    } else if (rest === 'counters') {
      st.counters.clear();
      if (js && Array.isArray(js.counters)) for (const k of js.counters) if (k && typeof k.counter === 'number') st.counters.set(k.counter, k);
    } else if (parts[2] === 'device' && parts[5] === 'status') {
      const key = `${parts[3]}/${parts[4]}`;
      if (parts[3] === 'test' || parts[3] === 'dashboard') return;
      if (!js) st.devices.delete(key);
      else if (st.devices.has(key) || st.devices.size < MAX_DEVICES) st.devices.set(key, js);
    } else if (rest === 'alerts') {
      st.alerts = (js && Array.isArray(js.alerts)) ? js.alerts : [];
      document.body.dataset.alertsAt = String(js ? js.at_ms : 0);
      document.body.dataset.alertsArrived = String(Date.now());
      for (const a of st.alerts) {
        if (!st.seenAlerts.has(a.id + a.since_ms)) {
          st.seenAlerts.add(a.id + a.since_ms);
          if (!a.acked_by) beep(a.level === 'critical');
        }
      }
      if (st.seenAlerts.size > 1000) st.seenAlerts = new Set(st.alerts.map((a) => a.id + a.since_ms));
    } else if (parts[2] === 'reply') {
      const req = js && js.req;
      if (req && pending.has(req)) { pending.get(req)(js); pending.delete(req); return; }
      if (js && js.error) alert(js.message || js.error);
    }
    soon();
  }

  /* A broker provisioned by qms-provision wants the dashboard user's login
   * (QMS.creds: from the address or the form) */
  const creds = QMS.creds();
  /* Replies come under qms/<site>/reply/<user name>/<client id> when logged
   * in (the provisioned ACL lets a user read only reply/<its name>/#), else
   * qms/<site>/reply/<client id> (docs/protocol.md). */
  function replyBase() {
    return creds ? `qms/${st.site}/reply/${creds.username}/${client.options.clientId}`
      : `qms/${st.site}/reply/${client.options.clientId}`;
  }
  client = QMS.connect('dashboard', null, creds);
  QMS.loginOnRefusal(client, { vi: 'Máy chủ yêu cầu đăng nhập (tài khoản dashboard của qms-provision).',
    en: "The broker asks for a login (qms-provision's dashboard account)." }, 'dashboard',
  /* the provisioned web broker lets anonymous clients in (the citizen's
   * pages) but gives them no stats: then the form too */
  { have: () => st.stats !== null, ms: 5000 });
  client.on('connect', () => {
    $('link').classList.remove('down');
    $('link').dataset.vi = 'Trực tuyến';
    $('link').dataset.en = 'Online';
    $('link').textContent = QMS.t('Trực tuyến', 'Online');
    if (st.site) subscribeSite(); else client.subscribe('qms/+/config', { qos: 1 });
  });
  client.on('close', () => {
    $('link').classList.add('down');
    $('link').dataset.vi = 'Mất kết nối';
    $('link').dataset.en = 'Offline';
    $('link').textContent = QMS.t('Mất kết nối', 'Offline');
  });
  client.on('message', onMessage);
  show(QMS.params.get('view') || 'now');
  render();
})();
