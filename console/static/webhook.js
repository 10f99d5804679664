// webhook.js: one outgoing webhook's page: its status (with the auto-pause
// banner), its endpoints' health and a chart of its last 24 hours, drawn in
// the page as SVG from GET /v1/webhooks/{id}/stats, and "Recover failed
// since…" (POST /v1/webhooks/{id}/recover).
import * as api from './api.js';
import { h, fill, toast, when, busy, modal, errorSlot, showErrors, clearErrors } from './dom.js';
import { statusBadge, autoPaused, pauseNotice, healthCell, split, short } from './webhooks.js';

const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/**
 * chart draws the hours as stacked bars (succeeded below, failed above) on
 * the left axis and the p50 / p95 response times as lines on the right axis.
 */
export function chart(st) {
  const W = 720, H = 240, L = 40, R = 52, T = 12, B = 28;
  const hours = st.hours || [];
  const n = hours.length || 24;
  const maxCount = Math.max(1, ...hours.map((x) => x.succeeded + x.failed));
  const maxMS = Math.max(1, ...hours.map((x) => x.p95_ms || 0));
  const bw = (W - L - R) / n;
  const y = (v) => T + (H - T - B) * (1 - v / maxCount);
  const ym = (v) => T + (H - T - B) * (1 - v / maxMS);
  const bars = [];
  const p50 = [];
  const p95 = [];
  hours.forEach((x, i) => {
    const x0 = L + i * bw + 1;
    const label = `${new Date(x.start).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}: ${x.succeeded} succeeded, ${x.failed} failed` +
      (x.succeeded + x.failed ? `, p50 ${x.p50_ms} ms, p95 ${x.p95_ms} ms` : '');
    const g = s('g', { class: 'hour', 'data-start': x.start, 'data-succeeded': x.succeeded, 'data-failed': x.failed }, s('title', {}, label));
    if (x.succeeded) g.append(s('rect', { class: 'bar-ok', x: x0, width: bw - 2, y: y(x.succeeded), height: y(0) - y(x.succeeded) }));
    if (x.failed) g.append(s('rect', { class: 'bar-fail', x: x0, width: bw - 2, y: y(x.succeeded + x.failed), height: y(x.succeeded) - y(x.succeeded + x.failed) }));
    bars.push(g);
    if (x.succeeded + x.failed) {
      const cx = L + (i + 0.5) * bw;
      p50.push(`${cx},${ym(x.p50_ms)}`);
      p95.push(`${cx},${ym(x.p95_ms)}`);
    }
  });
  const ticks = [];
  hours.forEach((x, i) => {
    if (i % 4 !== 3 && i !== 0) return;
    ticks.push(s('text', { x: L + (i + 0.5) * bw, y: H - 8, 'text-anchor': 'middle' },
      new Date(x.start).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })));
  });
  const dots = (pts, cls) => pts.length === 1
    ? s('circle', { class: cls, cx: pts[0].split(',')[0], cy: pts[0].split(',')[1], r: 3 })
    : s('polyline', { class: cls, points: pts.join(' ') });
  return s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', id: 'wh-chart', 'aria-labelledby': 'wh-chart-title',
    'data-succeeded': st.succeeded, 'data-failed': st.failed },
  s('title', { id: 'wh-chart-title' }, `Deliveries per hour over the last 24 hours: ${st.succeeded} succeeded, ${st.failed} failed; p50 ${st.p50_ms} ms, p95 ${st.p95_ms} ms`),
  s('line', { class: 'axis', x1: L, x2: W - R, y1: y(0), y2: y(0) }),
  s('text', { x: L - 6, y: y(maxCount) + 4, 'text-anchor': 'end' }, String(maxCount)),
  s('text', { x: L - 6, y: y(0) + 4, 'text-anchor': 'end' }, '0'),
  s('text', { x: W - R + 6, y: ym(maxMS) + 4 }, `${Math.round(maxMS)} ms`),
  s('text', { x: W - R + 6, y: y(0) + 4 }, '0 ms'),
  bars, ticks,
  p95.length ? dots(p95, 'line-p95') : null,
  p50.length ? dots(p50, 'line-p50') : null);
}

/** localInput formats a time for an <input type="datetime-local">: local time, to the minute. */
function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * recoverDialog asks from when (24 hours ago unless changed) and for which
 * endpoint the failed deliveries of w are sent again, and resolves with the
 * API's answer ({count, since, ...}), or undefined when cancelled.
 */
function recoverDialog(w) {
  return modal(`Recover failed deliveries of “${w.name}”`, (close) => {
    const since = h('input', { type: 'datetime-local', id: 'rc-since', required: true, autofocus: true,
      value: localInput(new Date(Date.now() - 24 * 3600 * 1000)) });
    const ep = h('select', { id: 'rc-endpoint' }, h('option', { value: '' }, 'All endpoints'),
      (w.endpoints || []).map((e) => h('option', { value: e.id }, e.url)));
    const go = h('button', { type: 'submit', id: 'rc-submit' }, 'Recover');
    const form = h('form', { novalidate: true },
      h('p', {}, 'Every delivery created since this time that failed (its retries spent) is sent once more, ' +
        'as a new attempt of the same delivery: receivers see the same webhook-id.'),
      h('p', { class: 'form-error', role: 'alert', hidden: true }),
      h('div', { class: 'field' }, h('label', { for: 'rc-since' }, 'Failed since ', h('span', { class: 'req', 'aria-hidden': 'true' }, '*')),
        since, errorSlot('since', 'rc-since'), h('p', { class: 'hint' }, 'Your local time. Up to now.')),
      h('div', { class: 'field' }, h('label', { for: 'rc-endpoint' }, 'Endpoint'), ep, errorSlot('endpoint_id', 'rc-endpoint')),
      h('div', { class: 'buttons' }, go, h('button', { type: 'button', class: 'secondary', onclick: () => close(undefined) }, 'Cancel')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const t = new Date(since.value);
      if (!since.value || isNaN(t)) {
        showErrors(form, { fields: { since: 'Choose the date and time from which to recover.' } });
        return;
      }
      const body = { since: t.toISOString() };
      if (ep.value) body.endpoint_id = ep.value;
      try {
        close(await busy(go, 'Recovering…', () => api.post(`/v1/webhooks/${encodeURIComponent(w.id)}/recover`, body)));
      } catch (err) { showErrors(form, err); }
    });
    return form;
  });
}

/** recoverBanner says what a recover found and where to follow it. */
function recoverBanner(w, r) {
  const what = r.count === 0
    ? `No failed deliveries since ${when(r.since)}: nothing to recover.`
    : `Recovering ${r.count} failed ${r.count === 1 ? 'delivery' : 'deliveries'} since ${when(r.since)}. ` +
      'They are sent again in the background; the delivery log shows each new attempt.';
  return h('div', { class: 'banner info', role: 'status', id: 'wp-recover-banner' },
    h('div', { class: 'banner-text' }, what),
    h('a', { class: 'button small secondary', href: `#/webhooks/${encodeURIComponent(w.id)}/deliveries` }, 'Delivery log'));
}

function kpi(key, value, id) {
  return h('div', { class: 'kpi', id }, h('span', { class: 'v' }, value), h('span', { class: 'k' }, key));
}

export function webhookPage(main, webhookID) {
  let alive = true;
  const head = h('div', { id: 'wp-head' });
  const notice = h('div', { id: 'wp-notice', class: 'banners' });
  const body = h('div', { id: 'wp-body' }, h('p', { class: 'muted' }, 'Loading…'));
  fill(main, h('p', {}, h('a', { href: '#/webhooks' }, '← Outgoing webhooks')), head, notice, body);
  const canRecover = api.has('POST', '/v1/webhooks/{id}/recover');

  async function recover(w) {
    const r = await recoverDialog(w);
    if (!r || !alive) return;
    fill(notice, recoverBanner(w, r));
    load();
  }

  async function resume(btn, w) {
    try {
      await busy(btn, 'Resuming…', () => api.post(`/v1/webhooks/${encodeURIComponent(w.id)}/resume`));
      toast(`Webhook “${w.name}” resumed: kept events are being delivered.`);
    } catch (e) { toast(`Could not resume “${w.name}”: ${e.message}`, 'error'); }
    load();
  }

  async function load() {
    let w, st, recoverable;
    try {
      recoverable = await canRecover;
      [w, st] = await Promise.all([api.get('/v1/webhooks/' + encodeURIComponent(webhookID)),
        api.get(`/v1/webhooks/${encodeURIComponent(webhookID)}/stats`).catch((e) => ({ error: e }))]);
    } catch (e) {
      fill(body, h('p', { class: 'note error', role: 'alert' }, 'Could not load the webhook: ' + e.message));
      return;
    }
    if (!alive) return;
    const { cats, acts } = split(w.events);
    fill(head,
      h('div', { class: 'page-head' }, h('h1', {}, w.name), statusBadge(w)),
      autoPaused(w) ? pauseNotice(w, resume) : null,
      w.status !== 'error' && w.status_reason && w.status !== 'active' ? h('p', { class: 'note', id: 'wp-reason' }, w.status_reason) : null);
    const health = st.health || { total: 0, endpoints: {} };
    const eps = (w.endpoints || []).map((e) => {
      const hl = (health.endpoints || {})[e.id];
      return h('tr', { 'data-id': e.id },
        h('td', { 'data-label': 'Endpoint' }, h('span', { class: 'url clip', title: e.url }, e.url)),
        h('td', { 'data-label': 'Enabled' }, e.enabled ? 'Yes' : 'No'),
        h('td', { 'data-label': 'Rate limit', class: 'rate' }, e.rate_limit ? `${e.rate_limit}/s` : 'None'),
        h('td', { 'data-label': 'Headers', class: 'ep-header-names' }, Object.keys(e.headers || {}).join(', ') || '—'),
        h('td', { 'data-label': 'Health' }, healthCell(hl)));
    });
    fill(body,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Category'), h('dd', {}, cats.join(', ') || '—'),
        h('dt', {}, 'Action'), h('dd', {}, acts.join(', ') || '—'),
        h('dt', {}, 'Events'), h('dd', {}, (w.events || []).join(', ')),
        h('dt', {}, 'Format'), h('dd', {}, h('code', {}, w.format || 'standard')),
        w.filter && Object.keys(w.filter).length ? [h('dt', {}, 'Filter'), h('dd', { id: 'wp-filter' }, h('code', {}, JSON.stringify(w.filter)))] : null,
        h('dt', {}, 'Last delivery'), h('dd', {}, when(w.last_triggered_at), w.last_status_code ? ` · HTTP ${w.last_status_code}` : ''),
        w.timeout ? [h('dt', {}, 'Timeout'), h('dd', {}, short(w.timeout))] : null,
        w.retry && w.retry.delays && w.retry.delays.length ? [h('dt', {}, 'Retry schedule'), h('dd', {}, w.retry.delays.map(short).join(', '))] : null),
      h('p', { class: 'buttons' }, h('a', { class: 'button secondary', href: `#/webhooks/${encodeURIComponent(w.id)}/deliveries`, id: 'wp-deliveries' }, 'Delivery log'),
        recoverable ? h('button', { type: 'button', class: 'secondary', id: 'wp-recover', 'data-action': 'recover', onclick: () => recover(w) }, 'Recover failed since…') : null),
      h('h2', {}, 'Last 24 hours'),
      st.error ? h('p', { class: 'note error' }, 'Could not load the stats: ' + st.error.message) : [
        h('div', { class: 'kpis' },
          kpi('Succeeded', String(st.succeeded), 'kpi-succeeded'), kpi('Failed', String(st.failed), 'kpi-failed'),
          kpi('p50 response', `${st.p50_ms} ms`, 'kpi-p50'), kpi('p95 response', `${st.p95_ms} ms`, 'kpi-p95'),
          kpi(`Health (last ${health.window || 100})`, health.total ? `${Math.round(health.success_rate * 1000) / 10}%` : '—', 'kpi-health')),
        h('figure', { class: 'chart-card' }, chart(st),
          h('figcaption', {}, h('ul', { class: 'legend' },
            h('li', {}, h('span', { class: 'swatch ok' }), 'succeeded'), h('li', {}, h('span', { class: 'swatch fail' }), 'failed'),
            h('li', {}, h('span', { class: 'swatch p50' }), 'p50 response time'), h('li', {}, h('span', { class: 'swatch p95' }), 'p95 response time'))))],
      h('h2', {}, 'Endpoints'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'wp-endpoints' },
        h('thead', {}, h('tr', {}, ['Endpoint', 'Enabled', 'Rate limit', 'Headers', 'Health'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, eps))));
  }
  load();
  return () => { alive = false; };
}
