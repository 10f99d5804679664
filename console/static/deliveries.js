// deliveries.js: the delivery log of one webhook: filters, expandable rows
// (payload, headers, response), Retry, and auto-refresh while open.
import * as api from './api.js';
import { h, fill, toast, when, busy } from './dom.js';

const REFRESH_MS = 2000;
const STATUSES = ['succeeded', 'failed', 'retrying', 'pending', 'held'];

export function deliveriesPage(main, webhookID) {
  const state = { status: '', event: '', list: [], next: '', open: new Map(), error: null, hook: null };
  let timer = null;
  let alive = true;

  const status = h('select', { id: 'dl-status', 'aria-label': 'Filter by status' },
    h('option', { value: '' }, 'All statuses'), STATUSES.map((s) => h('option', { value: s }, s)));
  const event = h('input', { type: 'search', id: 'dl-event', placeholder: 'Event type, e.g. contact.created', 'aria-label': 'Filter by event type', list: 'dl-event-list' });
  const eventList = h('datalist', { id: 'dl-event-list' });
  const auto = h('input', { type: 'checkbox', id: 'dl-auto', checked: true });
  const refreshBtn = h('button', { type: 'button', class: 'secondary', id: 'dl-refresh' }, 'Refresh');
  const stamp = h('span', { class: 'muted', id: 'dl-stamp', 'aria-live': 'off' });
  const title = h('h1', {}, 'Delivery log');
  const body = h('div', { id: 'dl-body' });
  status.addEventListener('change', () => { state.status = status.value; load(); });
  let t2 = null;
  event.addEventListener('input', () => { clearTimeout(t2); t2 = setTimeout(() => { state.event = event.value.trim(); load(); }, 300); });
  auto.addEventListener('change', schedule);
  refreshBtn.addEventListener('click', () => busy(refreshBtn, 'Refreshing…', load));

  fill(main, 
    h('p', {}, h('a', { href: '#/webhooks' }, '← Outgoing webhooks')),
    title,
    h('div', { class: 'toolbar' }, status, event, eventList,
      h('label', { for: 'dl-auto', class: 'inline' }, auto, ' Auto-refresh'), refreshBtn, stamp),
    body);

  api.get('/v1/webhooks/' + encodeURIComponent(webhookID)).then((w) => {
    state.hook = w;
    title.textContent = `Delivery log — ${w.name}`;
    for (const e of w.events || []) eventList.append(h('option', { value: e }));
  }).catch((e) => { fill(body, h('p', { class: 'note error', role: 'alert' }, 'Could not load the webhook: ' + e.message)); alive = false; });

  async function load(more = false) {
    const q = new URLSearchParams({ limit: '50' });
    if (state.status) q.set('status', state.status);
    if (state.event) q.set('event', state.event);
    if (more && state.next) q.set('cursor', state.next);
    try {
      const r = await api.get(`/v1/webhooks/${encodeURIComponent(webhookID)}/deliveries?` + q);
      state.list = more ? state.list.concat(r.data) : r.data;
      state.next = r.next_cursor || '';
      state.error = null;
    } catch (e) { state.error = e; }
    if (!alive) return;
    stamp.textContent = 'Updated ' + new Date().toLocaleTimeString();
    // Refresh open rows too, so a retried delivery shows its new attempts.
    await Promise.all([...state.open.keys()].map((id) => detail(id)));
    render();
  }

  async function detail(id) {
    try { state.open.set(id, await api.get('/v1/deliveries/' + encodeURIComponent(id))); } catch (e) { state.open.set(id, { error: e.message }); }
  }

  function schedule() {
    clearTimeout(timer);
    if (alive && auto.checked) timer = setTimeout(async () => { if (!document.hidden) await load(); schedule(); }, REFRESH_MS);
  }

  function render() {
    if (state.error) { fill(body, h('p', { class: 'note error', role: 'alert' }, 'Could not load the deliveries: ' + state.error.message)); return; }
    if (!state.list.length) {
      fill(body, h('div', { class: 'empty', id: 'dl-empty' }, h('p', {}, state.status || state.event
        ? 'No delivery matches these filters.' : 'No deliveries yet. They appear here as events are sent to this webhook.')));
      return;
    }
    const focused = document.activeElement && document.activeElement.id;
    const rows = [];
    for (const d of state.list) {
      const open = state.open.has(d.id);
      const ok = d.status === 'succeeded';
      const expander = h('button', { type: 'button', class: 'icon expand', id: 'x-' + d.id, 'aria-expanded': open ? 'true' : 'false',
        'aria-controls': 'd-' + d.id, 'aria-label': `Details of delivery ${d.id}` }, open ? '▾' : '▸');
      expander.addEventListener('click', async () => {
        if (state.open.has(d.id)) state.open.delete(d.id); else await detail(d.id);
        render();
      });
      const acts = [];
      if (d.status === 'failed') {
        const rb = h('button', { type: 'button', class: 'small', 'data-action': 'retry', id: 'r-' + d.id, 'aria-label': `Retry delivery ${d.id}` }, 'Retry');
        rb.addEventListener('click', () => retry(rb, d));
        acts.push(rb);
      }
      rows.push(h('tr', { 'data-id': d.id, 'data-status': d.status, class: ok ? 'ok' : (d.status === 'failed' || d.status === 'retrying' ? 'fail' : '') },
        h('td', { class: 'expand-cell' }, expander),
        h('td', { 'data-label': 'Time' }, when(d.created_at)),
        h('td', { 'data-label': 'Event' }, h('div', {}, h('code', {}, d.event_type), d.test ? [' ', h('span', { class: 'chip' }, 'test')] : null)),
        h('td', { 'data-label': 'Endpoint' }, h('span', { class: 'url' }, d.url)),
        h('td', { 'data-label': 'Status' }, statusCell(d)),
        h('td', { 'data-label': 'Response time', class: 'num' }, d.duration_ms ? `${Math.round(d.duration_ms)} ms` : '—'),
        h('td', { 'data-label': 'Attempts', class: 'num' }, String(d.attempts || 0)),
        h('td', { 'data-label': 'Actions', class: 'actions' }, acts)));
      if (open) rows.push(h('tr', { class: 'detail', id: 'd-' + d.id }, h('td', { colspan: 8 }, detailView(state.open.get(d.id)))));
    }
    fill(body, h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'dl-table' },
      h('caption', { class: 'offscreen' }, 'Deliveries, newest first'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, h('span', { class: 'offscreen' }, 'Expand')),
        ['Time', 'Event', 'Endpoint', 'Status', 'Response time', 'Attempts', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))),
    state.next ? h('button', { type: 'button', class: 'secondary', onclick: () => load(true) }, 'Load more') : null);
    if (focused) { const f = document.getElementById(focused); if (f) f.focus(); }
  }

  async function retry(btn, d) {
    try {
      await busy(btn, 'Retrying…', () => api.post('/v1/deliveries/' + encodeURIComponent(d.id) + '/retry'));
      toast(`Delivery ${d.id} queued again.`);
    } catch (e) { toast('Could not retry: ' + e.message, 'error'); }
    load();
  }

  load().then(schedule);
  return () => { alive = false; clearTimeout(timer); clearTimeout(t2); };
}

function statusCell(d) {
  const code = d.status_code;
  const good = d.status === 'succeeded' || (code >= 200 && code < 300);
  const cls = d.status === 'pending' || d.status === 'held' ? 'neutral' : good ? 'ok' : 'fail';
  return h('span', { class: 'badge ' + cls, 'data-status': d.status },
    code ? `${code} · ` : '', d.status, d.error_class && !good ? ` (${d.error_class})` : '');
}

function pretty(body) {
  if (!body) return '(empty)';
  try { return JSON.stringify(JSON.parse(body), null, 2); } catch { return body; }
}

function headers(hs) {
  const keys = Object.keys(hs || {}).sort();
  if (!keys.length) return h('p', { class: 'muted' }, '(none)');
  return h('dl', { class: 'headers' }, keys.map((k) => [h('dt', {}, k), h('dd', {}, hs[k])]));
}

function detailView(d) {
  if (!d) return h('p', {}, 'Loading…');
  if (d.error && !d.id) return h('p', { class: 'note error' }, 'Could not load the delivery: ' + d.error);
  const attempts = d.attempt_log || [];
  const head = h('p', { class: 'muted' }, `Delivery ${d.id} · event ${d.event_id}`, d.next_retry_at ? ` · next retry ${when(d.next_retry_at)}` : '',
    d.error ? ` · ${d.error}` : '');
  if (!attempts.length) return h('div', { class: 'detail-body' }, head, h('p', {}, 'No attempt yet.'));
  return h('div', { class: 'detail-body' }, head, attempts.slice().reverse().map((a) => h('section', { class: 'attempt' },
    h('h3', {}, `Attempt ${a.n} · ${when(a.at)} · `, a.status_code ? `HTTP ${a.status_code}` : (a.error_class || 'no answer'),
      ` · ${Math.round(a.duration_ms || 0)} ms`),
    a.error ? h('p', { class: 'note error' }, a.error) : null,
    h('div', { class: 'cols' },
      h('div', {}, h('h4', {}, 'Payload'), h('pre', { class: 'payload', tabindex: 0 }, pretty(a.request_body)),
        h('h4', {}, 'Request headers'), headers(a.request_headers)),
      h('div', {}, h('h4', {}, 'Response body', a.response_truncated ? ' (truncated)' : ''), h('pre', { class: 'response', tabindex: 0 }, pretty(a.response_body)),
        h('h4', {}, 'Response headers'), headers(a.response_headers))))));
}
