// app.js: the console's shell: sign-in, the fragment router and the header.
// Pages live in their own modules; each renders into <main>.
import * as api from './api.js';
import { h, fill, toast, errorSlot, showErrors, clearErrors, busy } from './dom.js';
import { webhooksPage } from './webhooks.js';
import { deliveriesPage } from './deliveries.js';
import { webhookPage } from './webhook.js';
import { incomingPage, requestsPage } from './incoming.js';
import { pluginsPage } from './plugins.js';
import { forget } from './catalog.js';
import './transformation.js';
import './filter.js';

const main = document.getElementById('main');
let stopPage = null; // cleanup of the page shown (timers)

const routes = [
  [/^#\/webhooks\/([^/]+)\/deliveries$/, (m) => deliveriesPage(main, decodeURIComponent(m[1]))],
  [/^#\/webhooks\/([^/]+)$/, (m) => webhookPage(main, decodeURIComponent(m[1]))],
  [/^#\/webhooks$/, () => webhooksPage(main)],
  [/^#\/incoming\/([^/]+)\/requests$/, (m) => requestsPage(main, decodeURIComponent(m[1]))],
  [/^#\/incoming$/, () => incomingPage(main)],
  [/^#\/plugins$/, () => pluginsPage(main)],
];

/** checkToken asks the API whether t is an admin token; it returns an error message or ''. */
async function checkToken(t) {
  try {
    await api.get('/v1/webhooks?limit=1', { token: t });
    return '';
  } catch (e) {
    if (e.status === 401) return 'This token is not accepted: ' + e.message;
    if (e.status === 403) return 'This token has no admin role: the console needs an admin token. (' + e.message + ')';
    return e.message;
  }
}

function signInPage(note, kind = 'info') {
  document.getElementById('top').hidden = true;
  stop();
  const ta = h('textarea', { id: 'token', name: 'token', rows: 4, required: true, autocomplete: 'off', spellcheck: 'false', autofocus: true,
    placeholder: 'eyJhbGciOi...' });
  const btn = h('button', { type: 'submit', id: 'signin' }, 'Sign in');
  const form = h('form', { class: 'signin card', novalidate: true },
    h('h1', {}, 'Sign in to hookgate'),
    note ? h('p', { class: 'note ' + kind, role: kind === 'error' ? 'alert' : null }, note) : null,
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h('label', { for: 'token' }, 'Admin token'),
    ta,
    errorSlot('token', 'token'),
    h('p', { class: 'hint' }, 'Paste an API token with the admin role, or open the one-time link that ',
      h('code', {}, 'hookgate token --console --tenant <tenant>'), ' prints. The token stays in this browser tab only (session storage) and is forgotten when you sign out or close the tab.'),
    h('div', { class: 'buttons' }, btn));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const t = ta.value.trim().replace(/^Bearer\s+/i, '');
    if (!t) { showErrors(form, { fields: { token: 'Paste a token first.' } }); return; }
    const msg = await busy(btn, 'Signing in…', () => checkToken(t));
    if (msg) { showErrors(form, { fields: { token: msg } }); return; }
    api.setToken(t);
    toast('Signed in');
    go('#/webhooks');
  });
  fill(main, form);
  ta.focus();
}

function stop() {
  if (stopPage) { try { stopPage(); } catch { /* page already gone */ } }
  stopPage = null;
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  if (location.hash.startsWith('#login=')) {
    // A login link opened in a tab where the console already runs.
    takeLoginLink().then((ok) => { if (ok) route(); });
    return;
  }
  if (!api.token()) { signInPage(); return; }
  const hash = location.hash || '#/webhooks';
  for (const [re, page] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    stop();
    showShell(hash);
    const cleanup = page(m);
    if (typeof cleanup === 'function') stopPage = cleanup;
    main.focus({ preventScroll: true });
    return;
  }
  go('#/webhooks');
}

function showShell(hash) {
  const top = document.getElementById('top');
  top.hidden = false;
  const c = api.claims();
  const who = [c.sub, c.tenant || c.tenant_id || c.tid].filter(Boolean).join(' @ ');
  const exp = c.exp ? ' · session ends ' + new Date(c.exp * 1000).toLocaleTimeString() : '';
  document.getElementById('who').textContent = who + exp;
  for (const a of top.querySelectorAll('[data-nav]')) {
    const on = hash.startsWith('#/' + a.dataset.nav);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

function signOut(note, kind) {
  api.clearToken();
  forget();
  stop();
  history.replaceState(null, '', location.pathname);
  signInPage(note || 'You are signed out.', kind || 'info');
}

/**
 * takeLoginLink redeems a login link (#login=<one-time code>, printed by
 * `hookgate token --console`): the code is read once, removed from the
 * address bar and from history before anything else, and exchanged through
 * POST /v1/console/login for the token, which then lives in session storage
 * only. A fragment never reaches a server nor a Referer header, and the code
 * works once.
 */
async function takeLoginLink() {
  const m = location.hash.match(/^#login=([A-Za-z0-9_-]+)/);
  if (!m) return true;
  history.replaceState(null, '', location.pathname + '#/webhooks');
  let t;
  try {
    t = (await api.call('POST', '/v1/console/login', { code: m[1] }, { token: '' })).token;
  } catch (e) {
    signInPage('This login link does not work: ' + e.message, 'error');
    return false;
  }
  const msg = await checkToken(t);
  if (msg) { signInPage('This login link does not work: ' + msg, 'error'); return false; }
  api.setToken(t);
  toast('Signed in');
  return true;
}

async function start() {
  api.whenUnauthorized((e) => signOut('Your session has ended (' + e.message + '). Sign in again.', 'error'));
  document.getElementById('signout').addEventListener('click', () => { signOut(); toast('Signed out'); });
  window.addEventListener('hashchange', route);
  if (!(await takeLoginLink())) return;
  route();
}

start();
