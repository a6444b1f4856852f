/* The citizen's booking page: book.html#s=<site>. Services from the retained
 * qms/<site>/config; free places per slot from booking/slots; the booking
 * from booking/make (MQTT v5 request/reply, replies under
 * qms/<site>/reply/web/<client id>, which a provisioned broker lets only this
 * client read). Shows the code (XXXX-XXXX) and its QR. The CCCD number goes
 * only into the booking/make request; the page keeps nothing. docs/booking.md. */
'use strict';

(() => {
  const site = QMS.params.get('s') || '';
  const $ = (id) => document.getElementById(id);
  let config = null;
  let slot = '';
  let slotsReply = null;
  let seq = 0;
  const pending = new Map();
  const clientId = `web${Math.random().toString(16).slice(2, 10)}${Math.random().toString(16).slice(2, 10)}`;
  const replyTopic = `qms/${site}/reply/web/${clientId}`;

  function request(suffix, body) {
    return new Promise((resolve, reject) => {
      const req = `${clientId}-${++seq}`;
      const msg = { req, ...body, lang: QMS.lang };
      pending.set(req, resolve);
      client.publish(`qms/${site}/${suffix}`, JSON.stringify(msg), {
        qos: 1,
        properties: { responseTopic: replyTopic, correlationData: new TextEncoder().encode(req),
          messageExpiryInterval: 20 },
      });
      setTimeout(() => { if (pending.delete(req)) reject(new Error('timeout')); }, 20000);
    });
  }

  function localToday() {
    const off = (config && config.utc_offset_min) || 420;
    return new Date(Date.now() + off * 60000);
  }
  function dayStr(d) { return d.toISOString().slice(0, 10); }

  function serviceName(s) {
    return QMS.lang === 'en' ? (s.name_en || s.name_vi) : s.name_vi;
  }

  function fillForm() {
    const sel = $('service');
    const keep = sel.value;
    sel.textContent = '';
    for (const s of (config ? config.services : [])) {
      sel.append(QMS.el('option', { value: s.code }, `${serviceName(s)} (${s.code})`));
    }
    if (keep) sel.value = keep;
    const days = $('day');
    const keepDay = days.value;
    days.textContent = '';
    const t0 = localToday();
    const fmt = new Intl.DateTimeFormat(QMS.lang === 'en' ? 'en-GB' : 'vi-VN',
      { weekday: 'long', day: '2-digit', month: '2-digit', timeZone: 'UTC' });
    for (let i = 0; i <= 6; i++) {
      const d = new Date(t0.getTime() + i * 86400000);
      days.append(QMS.el('option', { value: dayStr(d) }, fmt.format(d)));
    }
    if (keepDay) days.value = keepDay;
  }

  function renderSlots() {
    const box = $('slots');
    box.textContent = '';
    if (!slotsReply) return;
    if (slotsReply.error) {
      box.append(QMS.el('p', { class: 'note' }, slotsReply.message || slotsReply.error));
      return;
    }
    if (slotsReply.closed) {
      /* the center's calendar closes the day (a holiday, a Sunday) */
      box.append(QMS.el('p', { class: 'note', 'data-closed': '1' },
        QMS.t('Trung tâm nghỉ ngày này. Vui lòng chọn ngày khác.', 'The center is closed on this day. Please pick another day.')));
    } else if (!slotsReply.slots.length) {
      box.append(QMS.el('p', { class: 'note' }, QMS.t('Không còn giờ hẹn trong ngày này.', 'No times left on this day.')));
    }
    for (const s of slotsReply.slots) {
      const b = QMS.el('button', { type: 'button', class: 'slot', 'data-slot': s.slot },
        `${s.slot} (${s.free})`);
      b.disabled = s.free <= 0;
      b.setAttribute('aria-pressed', String(s.slot === slot));
      b.addEventListener('click', () => { slot = s.slot; renderSlots(); });
      box.append(b);
    }
  }

  async function loadSlots() {
    slotsReply = null;
    renderSlots();
    if (!$('service').value || !$('day').value) return;
    try {
      slotsReply = await request('booking/slots', { service: $('service').value, day: $('day').value });
    } catch (e) {
      slotsReply = { error: 'timeout', message: QMS.t('Máy chủ không trả lời. Vui lòng thử lại.', 'The server does not answer. Please try again.') };
    }
    if (slotsReply.slots && !slotsReply.slots.some((s) => s.slot === slot && s.free > 0)) slot = '';
    renderSlots();
  }

  function render() {
    document.title = QMS.t('Đặt lịch hẹn', 'Book an appointment');
    if (!/^[A-Za-z0-9_-]{1,63}$/.test(site)) {
      $('note').textContent = QMS.t('Đường dẫn không đúng (thiếu mã trung tâm).', 'This link is not right (no center).');
      return;
    }
    $('note').textContent = config ? '' : QMS.t('Đang tải…', 'Loading…');
    if (config) $('center').textContent = QMS.lang === 'en' ? (config.name_en || config.name_vi) : config.name_vi;
    fillForm();
    renderSlots();
  }

  async function submit(ev) {
    ev.preventDefault();
    $('error').textContent = '';
    const cccd = $('cccd').value.trim();
    if (!/^[0-9]{12}$/.test(cccd)) {
      $('error').textContent = QMS.t('Số CCCD phải gồm đúng 12 chữ số.', 'The CCCD number must be exactly 12 digits.');
      return;
    }
    if (!slot) {
      $('error').textContent = QMS.t('Hãy chọn giờ hẹn.', 'Please choose a time.');
      return;
    }
    $('submit').disabled = true;
    let r;
    try {
      r = await request('booking/make', { service: $('service').value, day: $('day').value, slot, cccd });
    } catch (e) {
      r = { error: 'timeout', message: QMS.t('Máy chủ không trả lời. Vui lòng thử lại.', 'The server does not answer. Please try again.') };
    }
    $('submit').disabled = false;
    if (r.error) {
      $('error').textContent = r.message || r.error;
      document.body.dataset.result = r.error;
      loadSlots();
      return;
    }
    $('cccd').value = '';
    $('form').hidden = true;
    $('done').hidden = false;
    if (!/^[A-Z0-9]{8}$/.test(r.code || '')) { $('error').textContent = r.code; return; }
    $('code').textContent = r.code_display;
    const qr = qrcode(0, 'M');
    qr.addData(r.code, 'Alphanumeric');
    qr.make();
    $('qr').innerHTML = qr.createSvgTag({ cellSize: 8, margin: 4 });
    const s = config && config.services.find((x) => x.code === r.service);
    $('details').textContent = QMS.t(
      `${s ? s.name_vi : r.service} · ngày ${r.day} lúc ${r.slot} · lấy số từ ${r.window[0]} đến ${r.window[1]}`,
      `${s ? (s.name_en || s.name_vi) : r.service} · ${r.day} at ${r.slot} · check in from ${r.window[0]} to ${r.window[1]}`);
    document.body.dataset.result = 'booked';
  }

  const client = QMS.connect('web', clientId);
  client.on('connect', () => {
    client.subscribe([`qms/${site}/config`, `${replyTopic}`], { qos: 1 });
  });
  client.on('message', (t, payload) => {
    let o;
    try { o = JSON.parse(new TextDecoder().decode(payload)); } catch (e) { return; }
    if (t === `qms/${site}/config`) {
      const first = !config;
      config = o;
      render();
      if (first) loadSlots();
      document.body.dataset.ready = '1';
      return;
    }
    if (t === replyTopic && o.req && pending.has(o.req)) {
      const f = pending.get(o.req);
      pending.delete(o.req);
      f(o);
    }
  });
  $('service').addEventListener('change', loadSlots);
  $('day').addEventListener('change', loadSlots);
  $('form').addEventListener('submit', submit);
  QMS.onLang(() => { render(); });
  render();
})();
