/* Shared by the dashboard (index.html) and the ticket page (ticket.html):
 * the language toggle, the MQTT connection (MQTT.js over websockets to the
 * broker that served the page), and small formatting helpers. Everything a
 * page shows is put in with textContent: nothing from the network is HTML. */
'use strict';

const QMS = (() => {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  let lang = params.get('lang') || localStorage.getItem('qms.lang') || 'vi';
  const listeners = [];

  function setLang(l) {
    lang = l === 'en' ? 'en' : 'vi';
    localStorage.setItem('qms.lang', lang);
    document.documentElement.lang = lang;
    document.querySelectorAll('[data-vi]').forEach((el) => {
      el.textContent = el.dataset[lang] || el.dataset.vi;
    });
    document.querySelectorAll('.lang-toggle button').forEach((b) => {
      b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
    });
    listeners.forEach((f) => f(lang));
  }

  function t(vi, en) {
    return lang === 'en' ? en : vi;
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) {
      if (k === null || k === undefined) continue;
      e.append(typeof k === 'string' || typeof k === 'number' ? String(k) : k);
    }
    return e;
  }

  function minutes(s) {
    if (s === null || s === undefined || s < 0) return '–';
    const m = Math.round(s / 60);
    return t(`${m} phút`, `${m} min`);
  }

  /* seconds as minutes with one decimal: "4,7 phút" / "4.7 min" */
  function minutes1(s) {
    if (s === null || s === undefined || s < 0) return '–';
    const m = (Math.round(s / 6) / 10).toFixed(1);
    return t(`${m.replace('.', ',')} phút`, `${m} min`);
  }

  function hhmm(ms, offsetMin) {
    if (!ms) return '–';
    const d = new Date(ms + (offsetMin || 0) * 60000);
    return d.toISOString().slice(11, 16);
  }

  /* Connect to the broker that served this page (same host and port). The
   * client id is clientPrefix-<random>, or exactly fixedId when given (the
   * ticket page: a provisioned broker lets an anonymous client read only
   * the ticket whose token is its client id). creds: {username, password}
   * or null (anonymous). */
  function connect(clientPrefix, fixedId, creds) {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${proto}://${location.host}/mqtt`;
    const id = fixedId || `${clientPrefix}-${Math.random().toString(16).slice(2, 10)}`;
    return mqtt.connect(url, {
      protocolVersion: 5,
      clientId: id,
      clean: true,
      reconnectPeriod: 2000,
      keepalive: 30,
      ...(creds ? { username: creds.username, password: creds.password } : {}),
    });
  }

  /* A broker with a password file wants a login: given in the address
   * (#...&user=NAME&pass=SECRET) or typed in the page's login form (shown
   * when the broker refuses); kept for this tab only (sessionStorage) and
   * taken out of the address bar. Returns {username, password} or null. */
  function creds() {
    const u = params.get('user');
    if (u) {
      sessionStorage.setItem('qms.user', u);
      sessionStorage.setItem('qms.pass', params.get('pass') || '');
      params.delete('user');
      params.delete('pass');
      history.replaceState(null, '', `#${params.toString()}`);
    }
    const user = sessionStorage.getItem('qms.user');
    return user ? { username: user, password: sessionStorage.getItem('qms.pass') || '' } : null;
  }

  /* The login form, put in below the page's header: stores what was typed
   * and reloads; shown, with the reason on body[data-refused], when the
   * broker refuses the connection (not authorized: v3 4/5, v5 134/135).
   * why: {vi, en} the sentence before the fields; user: the default name. */
  function loginOnRefusal(client, why, user, needs) {
    const w = (vi, en) => ({ 'data-vi': vi, 'data-en': en });
    const form = el('form', { id: 'login', class: 'who' },
      el('span', w(why.vi, why.en), t(why.vi, why.en)),
      el('label', { for: 'l-user', ...w('Tài khoản', 'User') }, t('Tài khoản', 'User')),
      el('input', { id: 'l-user', value: user, autocomplete: 'username' }),
      el('label', { for: 'l-pass', ...w('Mật khẩu', 'Password') }, t('Mật khẩu', 'Password')),
      el('input', { id: 'l-pass', type: 'password', autocomplete: 'current-password' }),
      el('button', { type: 'submit', ...w('Đăng nhập', 'Log in') }, t('Đăng nhập', 'Log in')));
    form.hidden = true;
    document.querySelector('header').after(form);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      sessionStorage.setItem('qms.user', document.getElementById('l-user').value.trim());
      sessionStorage.setItem('qms.pass', document.getElementById('l-pass').value);
      location.reload();
    });
    /* needs: {have: () => bool, ms}: a broker that lets anonymous clients
     * in but shows them none of the figures (the provisioned web broker:
     * only the public config) does not refuse: with no login stored for
     * this tab and nothing the page needs (have() false) ms after
     * connecting, the form is shown too, saying why (body[data-login=needed]). */
    if (needs && !creds()) {
      let timer = null;
      client.on('connect', () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (needs.have() || !form.hidden) return;
          const line = form.firstChild;
          const vi = 'Máy chủ này cần đăng nhập để xem số liệu.';
          const en = 'This server needs a login to show the figures.';
          line.dataset.vi = vi;
          line.dataset.en = en;
          line.textContent = t(vi, en);
          form.hidden = false;
          document.body.dataset.login = 'needed';
        }, needs.ms || 5000);
      });
      client.on('close', () => clearTimeout(timer));
    }
    client.on('error', (e) => {
      if ([4, 5, 134, 135].includes(e && e.code)) {
        form.hidden = false;
        document.body.dataset.refused = String(e.code);
        client.end(true);
      }
    });
  }

  return {
    params,
    creds,
    loginOnRefusal,
    get lang() { return lang; },
    setLang,
    onLang: (f) => listeners.push(f),
    t,
    el,
    minutes,
    minutes1,
    hhmm,
    connect,
  };
})();

document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('.lang-toggle button').forEach((b) => {
    b.addEventListener('click', () => QMS.setLang(b.dataset.lang));
  });
  QMS.setLang(QMS.lang);
});
