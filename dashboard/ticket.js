/* The citizen's ticket page: ticket.html#s=<site>&t=<token> (the URL in the
 * ticket's QR). Reads only qms/<site>/ticket/<token>/status (retained): the
 * number, the service, people ahead and the expected wait, then the counter
 * when the number is called. docs/dashboard.md. */
'use strict';

(() => {
  const site = QMS.params.get('s') || '';
  const token = QMS.params.get('t') || '';
  const $ = (id) => document.getElementById(id);
  let last = null;

  function render() {
    const st = last;
    $('note').textContent = '';
    if (!/^[A-Za-z0-9_-]{1,63}$/.test(site) || !/^[A-Za-z0-9_-]{16,40}$/.test(token)) {
      $('number').textContent = '—';
      $('note').textContent = QMS.t('Đường dẫn không đúng: hãy quét lại mã QR trên phiếu.',
        'This link is not right: scan the QR code on your ticket again.');
      return;
    }
    if (!st) {
      $('note').textContent = QMS.t('Đang tải…', 'Loading…');
      return;
    }
    $('number').textContent = st.ticket || '—';
    $('service').textContent = QMS.lang === 'en' ? (st.service_name_en || st.service_name_vi || '')
      : (st.service_name_vi || '');
    const waiting = st.state === 'waiting';
    const called = st.state === 'called' || st.state === 'serving';
    $('waiting').hidden = !waiting;
    $('called').hidden = !called;
    $('finished').hidden = waiting || called;
    if (waiting) {
      $('ahead').textContent = String(st.ahead ?? '–');
      $('eta').textContent = QMS.minutes(st.eta_s);
    }
    if (called) {
      const name = QMS.lang === 'en' ? (st.counter_name_en || `Counter ${st.counter}`)
        : (st.counter_name_vi || `Quầy ${st.counter}`);
      $('called-text').textContent = QMS.t(`Đã đến lượt bạn: mời đến ${name}`,
        `Your number is called: please go to ${name}`);
    }
    if (!waiting && !called) {
      const words = {
        done: ['Đã phục vụ xong. Cảm ơn bạn!', 'Served. Thank you!'],
        noshow: ['Bạn đã không có mặt khi được gọi. Hãy hỏi tại quầy.', 'You were called but not there. Please ask at the counter.'],
        cancelled: ['Số này đã bị hủy.', 'This number was cancelled.'],
      }[st.state] || ['', ''];
      $('finished').textContent = QMS.t(words[0], words[1]);
    }
  }

  QMS.onLang(render);
  render();
  if (!site || !token) return;
  const client = QMS.connect('ticket', token);
  const topic = `qms/${site}/ticket/${token}/status`;
  client.on('connect', () => client.subscribe(topic, { qos: 1 }));
  client.on('message', (t, payload) => {
    if (t !== topic || payload.length === 0) return;
    try {
      last = JSON.parse(new TextDecoder().decode(payload));
    } catch (e) {
      return;
    }
    document.body.dataset.state = last.state || '';
    render();
  });
})();
