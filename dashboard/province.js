/* The province view (province.html), opened from the province broker's
 * websockets listener: one row per site, from the hub's retained
 * qms/province/site/<site>/state and qms/province/hub/status, and each
 * site's bridged qms/<site>/config, stats, stats/hourly and alerts
 * (docs/province.md). Read only: it publishes nothing. */
'use strict';

(() => {
  const MAX_SITES = 500;
  const $ = (id) => document.getElementById(id);
  const sites = new Map(); /* site -> {state, config, stats, hourly, alerts, link} */
  let hub = null;
  let dirty = false;

  const site = (id) => {
    if (!sites.has(id)) {
      if (sites.size >= MAX_SITES) return null;
      sites.set(id, {});
    }
    return sites.get(id);
  };
  const num = (v) => (typeof v === 'number' ? String(v) : '–');
  const nameOf = (id, c) => (c && ((QMS.lang === 'en' && c.name_en) || c.name_vi)) || id;

  function age(ms) {
    if (!ms) return '–';
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return QMS.t(`${s} giây trước`, `${s} s ago`);
    if (s < 3600) return QMS.t(`${Math.floor(s / 60)} phút trước`, `${Math.floor(s / 60)} min ago`);
    return QMS.t(`${Math.floor(s / 3600)} giờ trước`, `${Math.floor(s / 3600)} h ago`);
  }

  /* the worst service's P90 wait in the latest hour with calls (stats/hourly;
   * the day's own P90 is not published) */
  function p90(h) {
    if (!h || !Array.isArray(h.services) || !Array.isArray(h.hours)) return null;
    for (let i = h.hours.length - 1; i >= 0; i--) {
      const v = h.services.map((s) => (Array.isArray(s.p90_wait_s) ? s.p90_wait_s[i] : null)).filter((x) => typeof x === 'number');
      if (v.length) return Math.max(...v);
    }
    return null;
  }

  function renderHub() {
    const e = $('hub');
    if (!hub) { e.textContent = QMS.t('Hub: chưa rõ', 'Hub: unknown'); return; }
    const on = hub.state === 'online';
    e.dataset.state = on ? 'online' : 'offline';
    e.classList.toggle('down', !on || hub.sites_with_gaps > 0);
    e.textContent = on
      ? QMS.t(`Hub: trực tuyến · ${num(hub.sites)} điểm · ${num(hub.sites_with_gaps)} điểm hở dữ liệu`,
        `Hub: online · ${num(hub.sites)} sites · ${num(hub.sites_with_gaps)} with gaps`)
      : QMS.t('Hub: ngừng hoạt động', 'Hub: offline');
  }

  function render() {
    dirty = false;
    renderHub();
    const tb = $('sites').tBodies[0];
    tb.textContent = '';
    $('empty').hidden = sites.size > 0;
    for (const id of [...sites.keys()].sort()) {
      const x = sites.get(id);
      const st = x.state || {};
      const td = (x.stats && x.stats.today) || {};
      const alerts = (x.alerts && Array.isArray(x.alerts.alerts)) ? x.alerts.alerts : [];
      const crit = alerts.filter((a) => a.level === 'critical').length;
      const share = typeof td.satisfied_share === 'number' ? `${Math.round(td.satisfied_share * 100)} %` : '–';
      const gap = x.state ? (st.gap ? QMS.t('Có', 'Yes') : QMS.t('Không', 'No')) : '–';
      const al = alerts.length === 0 ? '0'
        : crit ? QMS.t(`${crit} nghiêm trọng / ${alerts.length}`, `${crit} critical / ${alerts.length}`) : String(alerts.length);
      const cls = [st.gap ? 'gap' : '', crit ? 'crit' : '', x.link === '0' ? 'off' : ''].join(' ').trim();
      tb.append(QMS.el('tr', { 'data-site': id, class: cls, 'data-gap': String(!!st.gap), 'data-critical': String(crit) },
        QMS.el('td', { class: 'name' }, nameOf(id, x.config), x.link === '0' ? QMS.el('span', { class: 'badge' }, QMS.t('mất liên kết', 'link down')) : null),
        QMS.el('td', { class: 'stored num' }, num(st.stored)),
        QMS.el('td', { class: 'missing num' }, num(st.missing)),
        QMS.el('td', { class: 'gap' }, gap),
        QMS.el('td', { class: 'last num', 'data-ms': String(st.last_event_ms || '') }, age(st.last_event_ms)),
        QMS.el('td', { class: 'waiting num' }, num(td.waiting)),
        QMS.el('td', { class: 'taken num' }, num(td.taken)),
        QMS.el('td', { class: 'served num' }, num(td.served)),
        QMS.el('td', { class: 'mean num' }, QMS.minutes1(td.mean_wait_s)),
        QMS.el('td', { class: 'p90 num' }, QMS.minutes1(p90(x.hourly))),
        QMS.el('td', { class: 'sipas num' }, share),
        QMS.el('td', { class: 'alerts num' }, al)));
    }
    document.body.dataset.sites = String(sites.size);
  }
  function soon() {
    if (!dirty) { dirty = true; setTimeout(render, 0); }
  }
  QMS.onLang(render);
  setInterval(() => { /* the ages move on */
    document.querySelectorAll('#sites td.last').forEach((c) => { c.textContent = age(Number(c.dataset.ms)); });
  }, 1000);

  function onMessage(topic, payload) {
    const p = topic.split('/');
    let js = null;
    const text = new TextDecoder().decode(payload);
    if (payload.length) {
      try { js = JSON.parse(text); } catch (e) { if (!topic.endsWith('/bridge/state')) return; }
    }
    if (p[1] === 'province') {
      if (p[2] === 'hub' && p[3] === 'status') { hub = js; document.body.dataset.hubAt = String(Date.now()); }
      else if (p[2] === 'site' && p[4] === 'state' && p.length === 5) {
        const s = js ? site(p[3]) : sites.get(p[3]);
        if (s) { s.state = js; document.body.dataset.stateAt = String(js ? js.at_ms : 0); }
      }
      soon();
      return;
    }
    const rest = p.slice(2).join('/');
    const key = { config: 'config', stats: 'stats', 'stats/hourly': 'hourly', alerts: 'alerts', 'bridge/state': 'link' }[rest];
    if (!key) return;
    const s = payload.length ? site(p[1]) : sites.get(p[1]);
    if (!s) return;
    s[key] = key === 'link' ? text.trim() : js;
    soon();
  }

  /* a province broker with a password file: the viewer's login (from the
   * address or the form shown when the broker refuses; docs/province.md) */
  const client = QMS.connect('province', null, QMS.creds());
  QMS.loginOnRefusal(client, { vi: 'Máy chủ tỉnh yêu cầu đăng nhập.', en: 'The province broker asks for a login.' }, 'viewer');
  client.on('connect', () => {
    $('link').classList.remove('down');
    $('link').dataset.vi = 'Trực tuyến';
    $('link').dataset.en = 'Online';
    $('link').textContent = QMS.t('Trực tuyến', 'Online');
    client.subscribe(['qms/province/hub/status', 'qms/province/site/+/state', 'qms/+/config', 'qms/+/stats',
      'qms/+/stats/hourly', 'qms/+/alerts', 'qms/+/bridge/state'], { qos: 1 });
  });
  client.on('close', () => {
    $('link').classList.add('down');
    $('link').dataset.vi = 'Mất kết nối';
    $('link').dataset.en = 'Offline';
    $('link').textContent = QMS.t('Mất kết nối', 'Offline');
  });
  client.on('message', onMessage);
  render();
})();
