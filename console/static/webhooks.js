// webhooks.js: the outgoing webhooks list and the create/edit dialog.
import * as api from './api.js';
import { h, fill, id, toast, copy, when, modal, confirm, showErrors, clearErrors, errorSlot, busy } from './dom.js';
import { eventTypes, formats } from './catalog.js';

const STATUS = { active: 'Active', paused: 'Paused', error: 'Error', unconfirmed: 'Unconfirmed', pending_confirmation: 'Pending confirmation', disabled: 'Disabled' };

/** lifecycle reports which of the lifecycle routes this server has. */
export async function lifecycle() {
  const [pause, resume, rotate, resend, stats] = await Promise.all([
    api.has('POST', '/v1/webhooks/{id}/pause'), api.has('POST', '/v1/webhooks/{id}/resume'),
    api.has('POST', '/v1/webhooks/{id}/rotate-secret'), api.has('POST', '/v1/webhooks/{id}/confirmation/resend'),
    api.has('GET', '/v1/webhooks/{id}/stats')]);
  return { pause, resume, rotate, resend, stats };
}

/** waiting is how many events a paused webhook keeps, when the API says. */
function waiting(w) {
  for (const k of ['held', 'held_events', 'waiting', 'waiting_events', 'queued', 'queued_events', 'pending_events']) {
    if (typeof w[k] === 'number') return w[k];
  }
  return null;
}

/** disabled reports whether a webhook is switched off (it then receives nothing). */
export function disabled(w) { return w.status === 'disabled' || w.enabled === false; }

/** autoPaused reports whether hookgate paused the webhook after repeated failures. */
export function autoPaused(w) { return w.status === 'error'; }

/** statusBadge shows the webhook's status, and Disabled when it is off. */
export function statusBadge(w) {
  const s = disabled(w) ? 'disabled' : (w.status || 'active');
  const n = waiting(w);
  return h('span', { class: 'badge status-' + s, 'data-status': s, title: w.status_reason || null }, STATUS[s] || s,
    n && s !== 'disabled' ? h('span', { class: 'waiting' }, ` · ${n} waiting`) : null);
}

/**
 * pauseNotice is the auto-pause banner of a webhook: seed 002's admin
 * notification, with the reason hookgate keeps (status_reason), when it
 * happened (status_changed_at) and a Resume button.
 */
export function pauseNotice(w, onResume, opts = {}) {
  const at = w.status_changed_at || w.paused_at || w.updated_at;
  const btn = onResume ? h('button', { type: 'button', class: 'small', 'data-action': 'resume', 'aria-label': `Resume ${w.name}` }, 'Resume') : null;
  if (btn) btn.addEventListener('click', () => onResume(btn, w));
  return h('div', { class: 'banner error', role: 'alert', 'data-webhook': w.id },
    h('div', { class: 'banner-text' },
      // The kept reason is seed 002's notice when the server words it so.
      /has been paused/.test(w.status_reason || '') ? null : [h('strong', {}, `Webhook “${w.name}” has been paused due to repeated failures.`), ' '],
      h('span', { class: 'reason' }, w.status_reason || 'Deliveries failed too many times in a row.'), ' ',
      h('span', { class: 'muted when' }, at ? `Paused ${when(at)}.` : ''), ' ',
      h('span', { class: 'muted' }, 'Events are kept and delivered when you resume it.'),
      opts.link ? [' ', h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}` }, 'Open')] : null),
    btn);
}

/** testLine is the seed's wording of one test result: "HTTP 200 OK = Success" or one "Failed: " and the reason. */
export function testLine(r) {
  if (r.ok) return `HTTP ${r.status_code} ${reason(r.status_code)} = Success`.replace('  ', ' ');
  const why = r.status_code ? String(r.status_code) : (r.error || r.message || 'no answer');
  return 'Failed: ' + String(why).replace(/^(\s*failed:?\s*)+/i, '').trim();
}

function reason(code) {
  return ({ 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content' })[code] || '';
}

/** healthCell shows the success rate of the last deliveries (GET /v1/webhooks?include=health). */
export function healthCell(hl) {
  if (!hl || !hl.total) return h('span', { class: 'muted health', 'data-rate': '' }, 'no deliveries');
  const pct = Math.round(hl.success_rate * 1000) / 10;
  const cls = pct >= 99 ? 'ok' : pct >= 90 ? 'warn' : 'fail';
  const bar = h('span', { class: 'meter', 'aria-hidden': 'true' }, h('span', { class: 'meter-fill ' + cls, style: null }));
  bar.firstChild.style.width = pct + '%';
  return h('span', { class: 'health ' + cls, 'data-rate': String(pct), title: `${hl.succeeded} of the last ${hl.total} deliveries succeeded` },
    bar, ` ${pct}% of ${hl.total}`);
}

/**
 * split gives a webhook's Category (the kind of record: Contacts, Calendar
 * events, ...) and Action (Created, Updated, Deleted, ...) in seed 000's
 * words, from its event patterns.
 */
export function split(events) {
  const cats = new Set();
  const acts = new Set();
  for (const e of events || []) {
    if (e === '*') { cats.add('All'); acts.add('All'); continue; }
    const i = e.indexOf('.');
    const obj = i < 0 ? e : e.slice(0, i);
    const act = i < 0 ? '' : e.slice(i + 1);
    cats.add(plural(obj));
    acts.add(act === '*' ? 'All' : words(act));
  }
  return { cats: [...cats], acts: [...acts] };
}

function words(s) {
  const w = String(s || '').replace(/[._]/g, ' ');
  return w.charAt(0).toUpperCase() + w.slice(1);
}

const NAMES = { sms: 'SMS', whatsapp: 'WhatsApp', did: 'DIDs', ivr: 'IVRs' };

function plural(obj) {
  if (NAMES[obj]) return NAMES[obj];
  const w = words(obj);
  if (/(s|sh|ch|x)$/.test(w)) return w + 'es';
  if (/[^aeiou]y$/.test(w)) return w.slice(0, -1) + 'ies';
  return w + 's';
}

export function webhooksPage(main) {
  const state = { search: '', sort: 'name', list: [], next: '', loading: false, error: null };
  let features = { pause: false, resume: false, rotate: false, resend: false };
  let timer = null;

  const search = h('input', { type: 'search', id: 'wh-search', placeholder: 'Search by name', 'aria-label': 'Search webhooks by name' });
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.search = search.value.trim(); load(); }, 250);
  });
  const sort = h('select', { id: 'wh-sort', 'aria-label': 'Sort webhooks' },
    h('option', { value: 'name' }, 'Name A–Z'), h('option', { value: '-name' }, 'Name Z–A'),
    h('option', { value: '-created_at' }, 'Newest first'), h('option', { value: 'created_at' }, 'Oldest first'));
  sort.addEventListener('change', () => { state.sort = sort.value; load(); });
  const body = h('div', { id: 'wh-body' });
  const banners = h('div', { id: 'wh-banners', class: 'banners' });

  fill(main, 
    h('div', { class: 'page-head' },
      h('h1', {}, 'Outgoing webhooks'),
      h('button', { type: 'button', id: 'wh-new', onclick: () => edit(null) }, '+ New webhook')),
    h('p', { class: 'lead' }, 'Each webhook sends the events it subscribes to, signed, to its endpoints. Open a webhook’s delivery log to see every request and retry failures.'),
    banners,
    h('div', { class: 'toolbar' }, search, h('label', { for: 'wh-sort', class: 'inline' }, 'Sort'), sort),
    body);

  async function load(more = false) {
    state.loading = true;
    const q = new URLSearchParams({ limit: '50', sort: state.sort, include: 'health' });
    if (state.search) q.set('search', state.search);
    if (more && state.next) q.set('cursor', state.next);
    try {
      const r = await api.get('/v1/webhooks?' + q);
      state.list = more ? state.list.concat(r.data) : r.data;
      state.next = r.next_cursor || '';
      state.error = null;
    } catch (e) {
      state.error = e;
    }
    state.loading = false;
    render();
  }

  function sortHeader() {
    const dir = state.sort === 'name' ? 'ascending' : state.sort === '-name' ? 'descending' : 'none';
    const b = h('button', { type: 'button', class: 'th-sort', id: 'wh-sort-name',
      onclick: () => { state.sort = state.sort === 'name' ? '-name' : 'name'; sort.value = state.sort; load(); } },
    'Name', dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : '');
    return h('th', { scope: 'col', 'aria-sort': dir }, b);
  }

  function render() {
    if (state.error) {
      fill(body, h('p', { class: 'note error', role: 'alert' }, 'Could not load the webhooks: ' + state.error.message));
      return;
    }
    if (!state.list.length) {
      fill(body, state.search
        ? h('div', { class: 'empty' }, h('p', {}, `No webhook matches “${state.search}”.`))
        : h('div', { class: 'empty', id: 'wh-empty' },
          h('p', { class: 'big' }, 'No webhooks yet'),
          h('p', {}, 'Create a webhook to notify another system when something happens in the CRM.'),
          h('button', { type: 'button', onclick: () => edit(null) }, 'Create your first webhook')));
      return;
    }
    fill(banners, state.list.filter(autoPaused).map((w) => pauseNotice(w, features.resume ? (btn) => lifecycleCall(btn, w, 'resume') : null, { link: true })));
    const rows = state.list.map((w) => {
      const { cats, acts } = split(w.events);
      const eps = w.endpoints || [];
      return h('tr', { 'data-id': w.id, 'data-name': w.name, 'data-status': disabled(w) ? 'disabled' : w.status },
        h('td', { 'data-label': 'Name', class: 'name' }, h('div', {},
          h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}`, class: 'wh-link' }, h('strong', {}, w.name)),
          w.description ? h('div', { class: 'muted clip', title: w.description }, w.description) : null,
          h('div', { class: 'muted small' }, h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}/deliveries`, class: 'deliveries-link' }, 'Delivery log')))),
        h('td', { 'data-label': 'Category', class: 'cat' }, cats.join(', ')),
        h('td', { 'data-label': 'Action', class: 'act', title: (w.events || []).join(', ') }, acts.join(', ')),
        h('td', { 'data-label': 'Format', class: 'fmt' }, h('code', {}, w.format || 'standard')),
        h('td', { 'data-label': 'Endpoints', class: 'eps' }, h('ul', { class: 'plain' }, eps.map((e) =>
          h('li', { class: e.enabled ? '' : 'muted' }, h('span', { class: 'url clip', title: e.url }, e.url), e.enabled ? '' : ' (off)')))),
        h('td', { 'data-label': 'Status' }, statusBadge(w)),
        h('td', { 'data-label': 'Health' }, healthCell(w.health),
          w.consecutive_failures ? h('div', { class: 'muted small' }, `${w.consecutive_failures} failed in a row`) : null),
        h('td', { 'data-label': 'Last delivery' }, h('div', {}, w.last_status_code ? codeBadge(w.last_status_code) : null,
          h('div', { class: 'muted small' }, when(w.last_triggered_at)))),
        h('td', { 'data-label': 'Actions', class: 'actions' }, actions(w)));
    });
    fill(body,
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'wh-table' },
        h('caption', { class: 'offscreen' }, 'Outgoing webhooks'),
        h('colgroup', {}, ['name', 'cat', 'act', 'fmt', 'eps', 'status', 'health', 'last', 'actions'].map((c) => h('col', { class: 'c-' + c }))),
        h('thead', {}, h('tr', {}, sortHeader(), ['Category', 'Action', 'Format', 'Endpoints', 'Status', 'Health', 'Last delivery', 'Actions']
          .map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows))),
      state.next ? h('button', { type: 'button', class: 'secondary', onclick: () => load(true) }, 'Load more') : null);
  }

  function actions(w) {
    const out = [h('button', { type: 'button', class: 'small', 'data-action': 'edit', 'aria-label': `Edit ${w.name}`, onclick: () => edit(w) }, 'Edit')];
    if (disabled(w)) {
      // A disabled webhook receives nothing: it is enabled, not resumed.
      out.push(h('button', { type: 'button', class: 'small', 'data-action': 'enable', 'aria-label': `Enable ${w.name}`, onclick: (e) => setEnabled(e.target, w, true) }, 'Enable'));
    } else {
      const paused = w.status === 'paused' || w.status === 'error';
      if (paused && features.resume) {
        out.push(h('button', { type: 'button', class: 'small', 'data-action': 'resume', 'aria-label': `Resume ${w.name}`, onclick: (e) => lifecycleCall(e.target, w, 'resume') }, 'Resume'));
      } else if (!paused && w.status !== 'unconfirmed' && features.pause) {
        out.push(h('button', { type: 'button', class: 'small', 'data-action': 'pause', 'aria-label': `Pause ${w.name}`, onclick: (e) => lifecycleCall(e.target, w, 'pause') }, 'Pause'));
      }
    }
    if ((w.status === 'unconfirmed' || w.status === 'pending_confirmation') && features.resend && !disabled(w)) {
      out.push(h('button', { type: 'button', class: 'small', 'data-action': 'resend', 'aria-label': `Resend confirmation of ${w.name}`,
        onclick: (e) => lifecycleCall(e.target, w, 'confirmation/resend') }, 'Resend confirmation'));
    }
    out.push(h('button', { type: 'button', class: 'small', 'data-action': 'test', 'aria-label': `Send a test event to ${w.name}`, onclick: (e) => sendTest(e.target, w) }, 'Send test'));
    out.push(h('button', { type: 'button', class: 'small danger', 'data-action': 'delete', 'aria-label': `Delete ${w.name}`, onclick: () => remove(w) }, 'Delete'));
    return out;
  }

  async function setEnabled(btn, w, on) {
    try {
      await busy(btn, on ? 'Enabling…' : 'Disabling…', () => api.patch('/v1/webhooks/' + encodeURIComponent(w.id), { enabled: on }));
      toast(on ? `Webhook “${w.name}” enabled.` : `Webhook “${w.name}” disabled.`);
    } catch (e) {
      toast(`Could not ${on ? 'enable' : 'disable'} “${w.name}”: ${e.message}`, 'error');
    }
    load();
  }

  async function lifecycleCall(btn, w, what) {
    const words = { pause: ['Pausing…', `Webhook “${w.name}” paused: events are kept and delivered when you resume it.`],
      resume: ['Resuming…', `Webhook “${w.name}” resumed: kept events are being delivered.`],
      'confirmation/resend': ['Sending…', `Confirmation sent again to the endpoints of “${w.name}”.`] }[what];
    try {
      await busy(btn, words[0], () => api.post(`/v1/webhooks/${encodeURIComponent(w.id)}/${what}`));
      toast(words[1]);
    } catch (e) {
      toast(`Could not ${what.replace('confirmation/', '')} “${w.name}”: ${e.message}`, 'error');
    }
    load();
  }

  async function sendTest(btn, w) {
    let rs;
    try {
      rs = await busy(btn, 'Sending…', () => api.post(`/v1/webhooks/${encodeURIComponent(w.id)}/test`));
    } catch (e) {
      toast(`Test of “${w.name}” failed: ${e.message}`, 'error');
      return;
    }
    const list = rs.data || [];
    toast(list.every((r) => r.ok) ? `Test event delivered to every endpoint of “${w.name}”.` : `Test of “${w.name}”: some endpoints failed.`, list.every((r) => r.ok) ? 'ok' : 'error');
    await modal(`Test of “${w.name}”`, (close) => h('div', {},
      h('ul', { class: 'results' }, list.map((r) => h('li', {}, h('span', { class: 'url' }, r.url), ' ',
        h('span', { class: 'test-result ' + (r.ok ? 'ok' : 'fail') }, testLine(r))))),
      h('p', { class: 'hint' }, 'Test deliveries appear in the delivery log.'),
      h('div', { class: 'buttons' }, h('button', { type: 'button', autofocus: true, onclick: () => close() }, 'Close'))));
    load();
  }

  async function remove(w) {
    const ok = await confirm('Delete webhook', `Delete “${w.name}”? It stops receiving events at once; this cannot be undone.`);
    if (!ok) return;
    try {
      await api.del('/v1/webhooks/' + encodeURIComponent(w.id));
      toast(`Webhook “${w.name}” deleted.`);
    } catch (e) {
      toast(`Could not delete “${w.name}”: ${e.message}`, 'error');
    }
    load();
  }

  async function edit(w) {
    const saved = await webhookDialog(w, features);
    if (saved) load();
  }

  lifecycle().then((f) => { features = f; render(); });
  load();
  return () => clearTimeout(timer);
}

function codeBadge(code) {
  const ok = code >= 200 && code < 300;
  return h('span', { class: 'badge ' + (ok ? 'ok' : 'fail') }, String(code));
}

const sections = [];

/**
 * addDialogSection adds a section to the webhook dialog (create and edit),
 * so that a feature can bring its own controls without touching the dialog:
 *
 *   addDialogSection({ id: 'transforms', order: 55, build(ctx) {
 *     const el = h('fieldset', {}, ...);
 *     return { element: el, collect(body) { body.transforms = [...]; } };
 *   } });
 *
 * order places it among the built-in sections: name 10, enabled 20,
 * endpoints 30, format 40, events 50, delivery (timeout, retries) 60,
 * secret 70. build(ctx) runs each time the dialog opens and returns an
 * element, or {element, collect(body, ctx)}; collect adds the section's
 * fields to the JSON body of the create (POST) or update (PATCH) before it
 * is sent. ctx: webhook (null when creating), editing, format() (the chosen
 * format), events() (the event patterns chosen), onFormatChange(fn), and
 * errorSlot(field, controlId), whose
 * element shows the API's error for that field (the error body's fields).
 * A section with the id of an earlier one replaces it.
 */
export function addDialogSection(section) {
  if (!section || !section.id || typeof section.build !== 'function') throw new Error('addDialogSection needs an id and a build function');
  const i = sections.findIndex((x) => x.id === section.id);
  if (i >= 0) sections.splice(i, 1);
  sections.push({ order: 100, ...section });
}

/** dialogSections lists the sections added with addDialogSection, in order. */
export function dialogSections() { return sections.slice().sort((a, b) => a.order - b.order); }

/** short writes Go's "1m0s" as "1m" and "1h30m0s" as "1h30m". */
export function short(d) { return String(d).replace(/(\d[hm])0s$/, '$1').replace(/(\dh)0m$/, '$1'); }

/** durations reads "1m, 5m, 30m" into ["1m", "5m", "30m"]. */
function durations(text) {
  return text.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean).map((x) => /^\d+(\.\d+)?$/.test(x) ? x + 's' : x);
}

/**
 * parseHeaders reads an endpoint's header box: one "Name: value" per line,
 * blank lines ignored. error names the first line that does not read.
 */
export function parseHeaders(text) {
  const headers = {};
  let count = 0;
  let error = '';
  (text || '').split('\n').forEach((line, i) => {
    if (!line.trim() || error) return;
    const at = line.indexOf(':');
    const name = at > 0 ? line.slice(0, at).trim() : '';
    if (!name) { error = `Line ${i + 1}: write each header as “Name: value”.`; return; }
    headers[name] = line.slice(at + 1).trim();
    count++;
  });
  return { headers, count, error };
}

/** addField adds msg to fields[key], after what is already there. */
function addField(fields, key, msg) {
  fields[key] = fields[key] ? fields[key] + ' ' + msg : msg;
}

/**
 * webhookDialog creates (w null) or edits a webhook. It resolves true when
 * something was saved.
 */
export function webhookDialog(w, features) {
  const editing = !!w;
  return modal(editing ? `Edit “${w.name}”` : 'New webhook', (close) => {
    let saved = false;
    const form = h('form', { class: 'webhook-form', novalidate: true });
    const nameId = id('name');
    const name = h('input', { id: nameId, name: 'name', required: true, value: editing ? w.name : '', autocomplete: 'off', autofocus: true });
    const enabledId = id('en');
    const enabled = h('input', { type: 'checkbox', id: enabledId, role: 'switch', checked: editing ? w.enabled : true });
    const format = h('select', { id: id('fmt'), name: 'format' });
    const endpointsBox = h('div', { class: 'endpoints' });
    const picker = h('div', { class: 'picker' });
    const results = new Map();
    let selected = new Set(editing ? w.events : []);
    let formatList = [];
    let syncPicker = () => {};
    picker.addEventListener('change', (e) => {
      const b = e.target;
      if (!b.matches('input.ev, input.ev-wild, #ev-all')) return;
      if (b.checked) selected.add(b.value); else selected.delete(b.value);
      syncPicker();
    });

    // --- endpoints
    const rows = [];
    function addRow(ep = { url: '', enabled: true }) {
      const urlId = id('url');
      const url = h('input', { type: 'url', id: urlId, class: 'ep-url', value: ep.url, placeholder: 'https://example.com/webhooks', autocomplete: 'off', inputmode: 'url' });
      const on = h('input', { type: 'checkbox', class: 'ep-enabled', checked: ep.enabled !== false, id: id('epon') });
      // rate_limit: deliveries per second to this endpoint, across every worker; empty or 0 is unlimited.
      const rate = h('input', { type: 'number', class: 'ep-rate', id: id('eprate'), min: '0', step: 'any', inputmode: 'decimal',
        value: ep.rate_limit ? String(ep.rate_limit) : '', placeholder: 'no limit', title: 'Most deliveries per second to this endpoint (retries included); empty for no limit' });
      const result = h('span', { class: 'test-result', role: 'status' });
      const row = h('div', { class: 'endpoint-row' });
      const rm = h('button', { type: 'button', class: 'icon danger ep-remove', title: 'Remove endpoint' }, '✕');
      const hdrId = id('eph');
      const hdrText = Object.entries(ep.headers || {}).map(([k, v]) => `${k}: ${v}`).join('\n');
      const headers = h('textarea', { id: hdrId, class: 'ep-headers', rows: 2, spellcheck: 'false', autocomplete: 'off', placeholder: 'X-Api-Key: your-key' }, hdrText);
      const hsum = h('summary', {});
      const hbox = h('details', { class: 'ep-headers-box', open: !!hdrText }, hsum,
        h('label', { for: hdrId, class: 'small-label' }, 'Headers sent with every request to this endpoint, one “Name: value” per line'), headers);
      const countHeaders = () => {
        const n = parseHeaders(headers.value).count;
        hsum.textContent = n ? `Headers (${n})` : 'Headers';
      };
      headers.addEventListener('input', countHeaders);
      countHeaders();
      const r = { row, url, on, rate, result, headers, id: ep.id || '' };
      rm.addEventListener('click', () => {
        const i = rows.indexOf(r);
        rows.splice(i, 1);
        row.remove();
        relabel();
        (rows[Math.min(i, rows.length - 1)] || { url: addBtn }).url.focus();
      });
      r.rm = rm;
      r.label = h('label', { for: urlId, class: 'offscreen' });
      r.slot = errorSlot('', urlId);
      r.rateSlot = errorSlot('', rate.id);
      r.hslot = errorSlot('', hdrId);
      hbox.append(r.hslot);
      row.append(r.label, url, h('label', { class: 'inline small-label', for: on.id }, on, ' Enabled'),
        h('label', { class: 'inline small-label', for: rate.id }, 'Max/s ', rate), rm, result, r.slot, r.rateSlot, hbox);
      rows.push(r);
      endpointsBox.append(row);
      relabel();
      return r;
    }
    function relabel() {
      rows.forEach((r, i) => {
        r.label.textContent = `Endpoint ${i + 1} URL`;
        r.rm.setAttribute('aria-label', `Remove endpoint ${i + 1}`);
        r.slot.dataset.errorFor = `endpoints[${i}].url`;
        r.rateSlot.dataset.errorFor = `endpoints[${i}].rate_limit`;
        r.hslot.dataset.errorFor = `endpoints[${i}].headers`;
        r.row.dataset.index = String(i);
      });
    }
    const addBtn = h('button', { type: 'button', class: 'secondary', id: 'add-endpoint', onclick: () => addRow().url.focus() }, '+ Add endpoint');
    const testBtn = h('button', { type: 'button', class: 'secondary', id: 'test-endpoints' }, 'Test endpoints');
    testBtn.addEventListener('click', () => testEndpoints());
    (editing ? w.endpoints : [{ url: '', enabled: true }]).forEach((e) => addRow(e));

    // headerErrors checks the header boxes of the rows at idx; null when
    // every line reads as "Name: value".
    function headerErrors(idx) {
      const fields = {};
      for (const i of idx) {
        const p = parseHeaders(rows[i].headers.value);
        if (p.error) fields[`endpoints[${i}].headers`] = p.error;
      }
      return Object.keys(fields).length ? fields : null;
    }

    async function testEndpoints() {
      clearErrors(form);
      const list = rows.filter((r) => r.url.value.trim());
      for (const r of rows) { r.result.textContent = ''; r.result.className = 'test-result'; }
      if (!list.length) { showErrors(form, { fields: { endpoints: 'Enter at least one endpoint URL to test.' } }); return; }
      const urls = list.map((r) => r.url.value.trim());
      const bad = headerErrors(list.map((r) => rows.indexOf(r)));
      if (bad) { showErrors(form, { fields: bad }); return; }
      const headers = list.map((r) => parseHeaders(r.headers.value).headers);
      for (const r of list) r.result.textContent = 'Testing…';
      try {
        const res = await busy(testBtn, 'Testing…', () => editing
          ? api.post(`/v1/webhooks/${encodeURIComponent(w.id)}/test`, { urls, headers })
          : api.post('/v1/webhooks/test', { urls, headers, format: format.value, secret: customSecret() || undefined }));
        (res.data || []).forEach((t, i) => {
          const r = list[i];
          if (!r) return;
          r.result.textContent = testLine(t);
          r.result.className = 'test-result ' + (t.ok ? 'ok' : 'fail');
          r.result.title = t.message || '';
        });
        const failed = (res.data || []).filter((t) => !t.ok).length;
        toast(failed ? `${failed} of ${urls.length} endpoints failed the test.` : 'Every endpoint answered the test.', failed ? 'error' : 'ok');
      } catch (e) {
        for (const r of list) r.result.textContent = '';
        const fields = {};
        for (const [k, v] of Object.entries(e.fields || {})) {
          const m = k.match(/^urls\[(\d+)\](\.headers)?/);
          if (m && list[+m[1]]) addField(fields, `endpoints[${rows.indexOf(list[+m[1]])}].${m[2] ? 'headers' : 'url'}`, v);
          else fields[k === 'urls' ? 'endpoints' : k] = v;
        }
        showErrors(form, { message: e.message, fields });
      }
    }

    // --- events
    async function renderPicker() {
      let types = [];
      try { types = await eventTypes(); } catch (e) { fill(picker, h('p', { class: 'note error' }, 'Could not load the event types: ' + e.message)); return; }
      const fmt = formatList.find((f) => f.name === format.value);
      const only = fmt && fmt.eventTypes && fmt.eventTypes.length ? new Set(fmt.eventTypes) : null;
      const offered = types.filter((t) => !only || only.has(t.name));
      const offeredNames = new Set(offered.map((t) => t.name));
      const objects = new Set(offered.map((t) => t.object));
      const dropped = [...selected].filter((p) => !(p === '*' || offeredNames.has(p) || (p.endsWith('.*') && objects.has(p.slice(0, -2)))));
      for (const p of dropped) selected.delete(p);
      if (dropped.length) toast(`Format ${format.value} does not send ${dropped.join(', ')}; removed from the selection.`, 'error');
      const filterBox = h('input', { type: 'search', id: 'event-filter', placeholder: 'Filter events', 'aria-label': 'Filter event types' });
      const all = h('input', { type: 'checkbox', id: 'ev-all', value: '*', checked: selected.has('*') });
      const groups = new Map();
      for (const t of offered) {
        if (!groups.has(t.category)) groups.set(t.category, new Map());
        const objs = groups.get(t.category);
        if (!objs.has(t.object)) objs.set(t.object, []);
        objs.get(t.object).push(t);
      }
      const boxes = [];
      const cats = [];
      for (const [cat, objs] of groups) {
        const catId = id('cat');
        const selAll = h('input', { type: 'checkbox', id: catId, class: 'select-all', 'data-category': cat });
        const inner = [];
        const catBoxes = [];
        for (const [obj, ts] of objs) {
          const wildId = id('ev');
          const wild = h('input', { type: 'checkbox', id: wildId, value: obj + '.*', class: 'ev-wild', checked: selected.has(obj + '.*') });
          const items = ts.map((t) => {
            const bid = id('ev');
            const b = h('input', { type: 'checkbox', id: bid, value: t.name, class: 'ev', checked: selected.has(t.name), 'data-object': obj });
            catBoxes.push(b);
            boxes.push(b);
            return h('label', { for: bid, class: 'ev-label', 'data-name': t.name, title: t.description || '' }, b, ' ', t.name);
          });
          boxes.push(wild);
          inner.push(h('div', { class: 'ev-object', 'data-object': obj },
            h('label', { for: wildId, class: 'ev-label wild', 'data-name': obj + '.*' }, wild, ' ', h('span', {}, `All ${obj.replace(/_/g, ' ')} events (${obj}.*)`)),
            h('div', { class: 'ev-items' }, items)));
        }
        cats.push({ selAll, catBoxes });
        inner.unshift(h('legend', {}, cat, ' ', h('label', { for: catId, class: 'inline select-all-label' }, selAll, ` Select all ${cat} events`)));
        selAll.addEventListener('change', () => {
          for (const b of catBoxes) { if (selAll.checked) selected.add(b.value); else selected.delete(b.value); }
          sync();
        });
        picker.dataset.ready = 'yes';
        cats[cats.length - 1].fs = h('fieldset', { class: 'category', 'data-category': cat }, inner);
      }
      function sync() {
        for (const b of boxes) b.checked = selected.has(b.value);
        all.checked = selected.has('*');
        for (const b of boxes) {
          const covered = selected.has('*') || (b.classList.contains('ev') && selected.has(b.dataset.object + '.*'));
          b.disabled = covered;
          if (covered) b.checked = true;
        }
        for (const c of cats) {
          const n = c.catBoxes.filter((b) => b.checked).length;
          c.selAll.checked = n === c.catBoxes.length;
          c.selAll.indeterminate = n > 0 && n < c.catBoxes.length;
          c.selAll.disabled = selected.has('*');
        }
        count.textContent = selected.has('*') ? 'All events, including future ones' : `${selected.size} selected`;
      }
      syncPicker = sync;
      filterBox.addEventListener('input', () => {
        const q = filterBox.value.trim().toLowerCase();
        for (const l of picker.querySelectorAll('.ev-label')) l.hidden = !!q && !l.dataset.name.includes(q);
      });
      const count = h('span', { class: 'muted', id: 'ev-count', 'aria-live': 'polite' });
      fill(picker, 
        h('div', { class: 'picker-head' }, filterBox, count),
        h('label', { for: 'ev-all', class: 'ev-label all', 'data-name': '*' }, all, ' All events (*), including types added later'),
        only ? h('p', { class: 'hint' }, `The ${format.value} format sends only these events.`) : null,
        cats.map((c) => c.fs));
      sync();
    }

    // --- secret
    const secretMode = editing ? null : h('div', { class: 'radios', role: 'radiogroup', 'aria-label': 'Secret' });
    let secretInput = null;
    function customSecret() {
      return !editing && secretMode.querySelector('input[value="custom"]').checked ? secretInput.value : '';
    }
    function unsigned() {
      return !editing && secretMode.querySelector('input[value="unsigned"]').checked;
    }
    const secretBox = h('div', { class: 'secret-box' });
    if (!editing) {
      const gen = h('input', { type: 'radio', name: 'secret-mode', value: 'generate', id: 'secret-generate', checked: true });
      const cus = h('input', { type: 'radio', name: 'secret-mode', value: 'custom', id: 'secret-custom' });
      const uns = h('input', { type: 'radio', name: 'secret-mode', value: 'unsigned', id: 'secret-unsigned' });
      secretInput = h('input', { type: 'text', id: 'secret', autocomplete: 'off', spellcheck: 'false', placeholder: 'at least 24 characters', disabled: true });
      const unsignedNote = h('p', { class: 'note warn', id: 'unsigned-note', hidden: true },
        'Deliveries carry no signature: receivers cannot tell them from forged requests. Choose this only for receivers that cannot verify signatures.');
      const toggle = () => { secretInput.disabled = !cus.checked; unsignedNote.hidden = !uns.checked; if (cus.checked) secretInput.focus(); };
      gen.addEventListener('change', toggle);
      cus.addEventListener('change', toggle);
      uns.addEventListener('change', toggle);
      secretMode.append(h('label', { for: 'secret-generate', class: 'inline' }, gen, ' Generate a secret for me'),
        h('label', { for: 'secret-custom', class: 'inline' }, cus, ' Use my own secret'), secretInput,
        h('label', { for: 'secret-unsigned', class: 'inline' }, uns, ' Do not sign (unsigned)'));
      secretBox.append(secretMode, errorSlot('secret', 'secret'), errorSlot('unsigned', 'secret-unsigned'), unsignedNote,
        h('p', { class: 'hint' }, 'Deliveries are signed with this secret; it is shown once, after you save.'));
    } else if (w.unsigned) {
      secretBox.append(h('p', { class: 'hint', id: 'unsigned-note' }, 'This webhook sends unsigned deliveries (chosen when it was created).'));
    } else {
      secretBox.append(h('p', { class: 'hint' }, 'The secret was shown once when the webhook was created.'));
      if (features.rotate) {
        const grace = h('select', { id: 'rotate-grace', 'aria-label': 'Keep signing with the old secret for' },
          h('option', { value: '' }, 'Old secret stops at once'), h('option', { value: '1h' }, 'Old secret valid 1 more hour'),
          h('option', { value: '24h', selected: true }, 'Old secret valid 24 more hours'));
        const rot = h('button', { type: 'button', class: 'secondary', id: 'rotate-secret' }, 'Rotate secret');
        rot.addEventListener('click', async () => {
          try {
            const body = grace.value ? { grace_period: grace.value } : {};
            const r = await busy(rot, 'Rotating…', () => api.post(`/v1/webhooks/${encodeURIComponent(w.id)}/rotate-secret`, body));
            saved = true;
            secretBox.append(secretPanel(r.secret || (r.data && r.data.secret) || ''));
            toast('Secret rotated. Copy the new secret now: it will not be shown again.');
          } catch (e) { toast('Could not rotate the secret: ' + e.message, 'error'); }
        });
        secretBox.append(h('div', { class: 'row' }, grace, rot), errorSlot('grace_period', 'rotate-grace'));
      }
    }

    // --- delivery: the webhook's own timeout and retry schedule
    const timeoutId = id('timeout');
    const retryId = id('retry');
    const timeout = h('input', { id: timeoutId, name: 'timeout', class: 'short', autocomplete: 'off', spellcheck: 'false',
      value: editing && w.timeout && w.timeout !== '0s' ? short(w.timeout) : '', placeholder: 'server default' });
    const retry = h('input', { id: retryId, name: 'retry', autocomplete: 'off', spellcheck: 'false',
      value: editing && w.retry && w.retry.delays ? w.retry.delays.map(short).join(', ') : '', placeholder: 'server default, e.g. 1m, 5m, 30m' });
    const delivery = h('fieldset', { class: 'field delivery' }, h('legend', {}, 'Delivery'),
      h('div', { class: 'cols' },
        h('div', {}, h('label', { for: timeoutId }, 'Timeout'), timeout, errorSlot('timeout', timeoutId),
          h('p', { class: 'hint' }, 'How long to wait for an answer, such as 5s. Empty: the server’s default.')),
        h('div', {}, h('label', { for: retryId }, 'Retry schedule'), retry, errorSlot('retry.delays', retryId),
          h('p', { class: 'hint' }, 'Delays between attempts after a failure, such as 1m, 5m, 30m (3 retries). Empty: the server’s default.'))));

    const saveBtn = h('button', { type: 'submit', id: 'save' }, 'Save');
    const formatWatchers = [];
    const ctx = { webhook: w || null, editing, format: () => format.value, events: () => [...selected], onFormatChange: (fn) => formatWatchers.push(fn), errorSlot, h };
    const parts = [
      { id: 'name', order: 10, element: h('div', { class: 'field' }, h('label', { for: nameId }, 'Name ', h('span', { class: 'req', 'aria-hidden': 'true' }, '*')), name, errorSlot('name', nameId)) },
      { id: 'enabled', order: 20, element: h('div', { class: 'field' }, h('label', { for: enabledId, class: 'inline switch' }, enabled, ' Enabled'),
        h('p', { class: 'hint' }, 'When off, the webhook receives nothing and keeps nothing.')) },
      { id: 'endpoints', order: 30, element: h('fieldset', { class: 'field' }, h('legend', {}, 'Endpoints'), endpointsBox, errorSlot('endpoints'),
        h('div', { class: 'row' }, addBtn, testBtn)) },
      { id: 'format', order: 40, element: h('div', { class: 'field' }, h('label', { for: format.id }, 'Format'), format, errorSlot('format', format.id)) },
      { id: 'events', order: 50, element: h('fieldset', { class: 'field' }, h('legend', {}, 'Events'), picker, errorSlot('events')) },
      { id: 'delivery', order: 60, element: delivery },
      { id: 'secret', order: 70, element: h('fieldset', { class: 'field' }, h('legend', {}, 'Secret'), secretBox) },
    ];
    for (const sec of dialogSections()) {
      let out;
      try { out = sec.build(ctx); } catch (e) { out = h('p', { class: 'note error' }, `Section ${sec.id} failed: ${e.message}`); }
      if (!out) continue;
      const el = out instanceof Node ? out : out.element;
      const i = parts.findIndex((x) => x.id === sec.id);
      const part = { id: sec.id, order: sec.order, element: el, collect: out instanceof Node ? null : out.collect };
      if (i >= 0) parts[i] = part; else parts.push(part);
    }
    parts.sort((a, b) => a.order - b.order);
    for (const p of parts) if (p.element) p.element.dataset.section = p.id;
    form.append(
      h('p', { class: 'form-error', role: 'alert', hidden: true }),
      ...parts.map((p) => p.element).filter(Boolean),
      h('div', { class: 'buttons sticky' }, saveBtn, h('button', { type: 'button', class: 'secondary', id: 'cancel', onclick: () => close(saved) }, 'Cancel')));

    formats().then((list) => {
      formatList = list;
      const cur = editing ? w.format : 'standard';
      if (!list.some((f) => f.name === cur)) list.push({ name: cur, label: cur + ' (not loaded)', healthy: false, eventTypes: [] });
      fill(format, ...list.map((f) => h('option', { value: f.name, selected: f.name === cur },
        f.label + (f.healthy ? '' : ' — unavailable'))));
      renderPicker();
    });
    format.addEventListener('change', () => { renderPicker(); for (const fn of formatWatchers) fn(format.value); });

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const bad = headerErrors(rows.map((_, i) => i));
      if (bad) { showErrors(form, { fields: bad }); return; }
      const body = {
        name: name.value,
        enabled: enabled.checked,
        endpoints: rows.map((r) => {
          const hs = parseHeaders(r.headers.value).headers;
          return { ...(r.id ? { id: r.id } : {}), url: r.url.value.trim(), enabled: r.on.checked, ...(Object.keys(hs).length ? { headers: hs } : {}),
            ...(r.rate.value.trim() !== '' && Number(r.rate.value) !== 0 ? { rate_limit: Number(r.rate.value) } : {}) };
        }),
        events: [...selected],
        format: format.value,
      };
      if (!editing && customSecret()) body.secret = customSecret();
      if (unsigned()) body.unsigned = true;
      const tv = timeout.value.trim();
      if (tv) body.timeout = /^\d+(\.\d+)?$/.test(tv) ? tv + 's' : tv;
      else if (editing && w.timeout && w.timeout !== '0s') body.timeout = '0s';
      const rv = durations(retry.value);
      if (rv.length) body.retry = { delays: rv };
      else if (editing && w.retry && w.retry.delays && w.retry.delays.length) body.retry = { delays: [] };
      for (const p of parts) if (p.collect) p.collect(body, ctx);
      let res;
      try {
        res = await busy(saveBtn, 'Saving…', () => editing
          ? api.patch('/v1/webhooks/' + encodeURIComponent(w.id), body)
          : api.post('/v1/webhooks', body));
      } catch (err) {
        // A bad pattern (events[2]) is shown by the Events picker as a whole.
        const fields = {};
        for (const [k, v] of Object.entries(err.fields || {})) {
          const hm = k.match(/^(endpoints\[\d+\]\.headers|filter)\b/);
          addField(fields, /^events\[\d+\]$/.test(k) ? 'events' : hm ? hm[1] : k, hm && hm[1] === 'filter' && k !== 'filter' ? `${k}: ${v}` : v);
        }
        showErrors(form, { message: err.message, fields });
        toast('Not saved: ' + err.message, 'error');
        return;
      }
      saved = true;
      toast(editing ? `Webhook “${res.name}” saved.` : `Webhook “${res.name}” created.`);
      const unsent = confirmationFailures(res);
      if (unsent.length) toast(`The confirmation request could not be sent to ${unsent.map((f) => f.url + ' (' + f.why + ')').join(', ')}. Use Resend confirmation once the receiver answers.`, 'error');
      if (!editing && (res.secret || unsent.length)) {
        fill(form,
          h('p', {}, `Webhook “${res.name}” is created`, res.status === 'unconfirmed' || res.status === 'pending_confirmation'
            ? ' and waits for its endpoints to confirm the subscription.' : '.'),
          unsent.length ? h('div', { class: 'note error', id: 'confirmation-failed', role: 'alert' },
            h('p', {}, 'The confirmation request could not be sent to:'),
            h('ul', {}, unsent.map((f) => h('li', {}, h('span', { class: 'url' }, f.url), ': ', f.why))),
            h('p', {}, 'Events for these endpoints are kept. Use Resend confirmation once the receiver answers.')) : null,
          res.secret ? secretPanel(res.secret) : null,
          h('div', { class: 'buttons' }, h('button', { type: 'button', id: 'done', autofocus: true, onclick: () => close(true) }, 'Done')));
        form.querySelector('#done').focus();
        return;
      }
      close(true);
    });
    return form;
  }, { wide: true });
}

/**
 * confirmationFailures lists the endpoints whose confirmation request could
 * not be sent when the webhook was saved: the answer's per-endpoint
 * outcome, confirmation_requests: [{endpoint_id, url, ok, status_code,
 * message}] (message "Failed: <why>"), or an endpoint's own outcome object.
 */
export function confirmationFailures(res) {
  const out = [];
  const failed = (o) => o && typeof o === 'object' && (o.ok === false || o.sent === false || o.status === 'failed' || (!!o.error && o.ok !== true));
  const why = (o) => String(o.error || o.message || o.reason || (o.status_code ? o.status_code : 'not sent')).replace(/^(\s*failed:?\s*)+/i, '') || 'not sent';
  const list = ['confirmation_requests', 'confirmation', 'confirmations'].map((k) => res[k]).find(Array.isArray) || [];
  for (const o of list) if (failed(o)) out.push({ url: o.url || '', why: why(o) });
  for (const e of res.endpoints || []) {
    for (const k of ['confirmation_send', 'confirmation_request', 'confirmation_result', 'confirmation']) {
      const o = e[k];
      if (failed(o) && !out.some((f) => f.url === e.url)) out.push({ url: e.url, why: why(o) });
    }
  }
  return out;
}

/** secretPanel shows a secret once, with a copy button. */
export function secretPanel(secret) {
  const out = h('output', { class: 'secret', id: 'secret-value' }, secret);
  const b = h('button', { type: 'button', class: 'secondary', id: 'copy-secret' }, 'Copy');
  b.addEventListener('click', () => copy(secret, b));
  return h('div', { class: 'secret-panel', role: 'group', 'aria-label': 'Webhook secret' },
    h('p', { class: 'note warn' }, 'Copy this secret now: it will not be shown again. Receivers verify signatures with it.'),
    h('div', { class: 'row' }, out, b));
}
