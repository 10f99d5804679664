// webhooks.js: the outgoing webhooks list and the create/edit dialog.
import * as api from './api.js';
import { h, fill, id, toast, copy, when, modal, confirm, showErrors, clearErrors, errorSlot, busy } from './dom.js';
import { eventTypes, formats } from './catalog.js';

const STATUS = { active: 'Active', paused: 'Paused', error: 'Error', unconfirmed: 'Unconfirmed', pending_confirmation: 'Pending confirmation', disabled: 'Disabled' };

/** lifecycle reports which of the lifecycle routes this server has. */
async function lifecycle() {
  const [pause, resume, rotate, resend] = await Promise.all([
    api.has('POST', '/v1/webhooks/{id}/pause'), api.has('POST', '/v1/webhooks/{id}/resume'),
    api.has('POST', '/v1/webhooks/{id}/rotate-secret'), api.has('POST', '/v1/webhooks/{id}/confirmation/resend')]);
  return { pause, resume, rotate, resend };
}

/** waiting is how many events a paused webhook keeps, when the API says. */
function waiting(w) {
  for (const k of ['held', 'held_events', 'waiting', 'waiting_events', 'queued', 'queued_events', 'pending_events']) {
    if (typeof w[k] === 'number') return w[k];
  }
  return null;
}

/** statusBadge shows the webhook's status, and Disabled when it is off. */
export function statusBadge(w) {
  const s = w.status || 'active';
  const n = waiting(w);
  return h('span', { class: 'badge status-' + s, 'data-status': s }, STATUS[s] || s,
    n ? h('span', { class: 'waiting' }, ` · ${n} waiting`) : null);
}

/** testLine is the seed's wording of one test result. */
export function testLine(r) {
  if (r.ok) return `HTTP ${r.status_code} ${reason(r.status_code)} = Success`.replace('  ', ' ');
  if (r.status_code) return `Failed: ${r.status_code}`;
  // error is the class and a safe reason ("connect: connection refused").
  if (r.error) return `Failed: ${r.error}`;
  return r.message || 'Failed: no answer';
}

function reason(code) {
  return ({ 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content' })[code] || '';
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

  fill(main, 
    h('div', { class: 'page-head' },
      h('h1', {}, 'Outgoing webhooks'),
      h('button', { type: 'button', id: 'wh-new', onclick: () => edit(null) }, '+ New webhook')),
    h('p', { class: 'lead' }, 'Each webhook sends the events it subscribes to, signed, to its endpoints. Open a webhook’s delivery log to see every request and retry failures.'),
    h('div', { class: 'toolbar' }, search, h('label', { for: 'wh-sort', class: 'inline' }, 'Sort'), sort),
    body);

  async function load(more = false) {
    state.loading = true;
    const q = new URLSearchParams({ limit: '50', sort: state.sort });
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
    const rows = state.list.map((w) => h('tr', { 'data-id': w.id, 'data-name': w.name },
      h('td', { 'data-label': 'Name', class: 'name' }, h('div', {}, h('strong', {}, w.name), w.description ? h('div', { class: 'muted' }, w.description) : null)),
      h('td', { 'data-label': 'Events' }, eventSummary(w.events)),
      h('td', { 'data-label': 'Endpoints' }, h('ul', { class: 'plain' }, (w.endpoints || []).map((e) =>
        h('li', { class: e.enabled ? '' : 'muted' }, h('span', { class: 'url' }, e.url), e.enabled ? '' : ' (off)')))),
      h('td', { 'data-label': 'Status' }, statusBadge(w)),
      h('td', { 'data-label': 'Enabled' }, h('span', { class: 'badge ' + (w.enabled ? 'on' : 'off') }, w.enabled ? 'Enabled' : 'Disabled')),
      h('td', { 'data-label': 'Last triggered' }, when(w.last_triggered_at)),
      h('td', { 'data-label': 'Last status' }, w.last_status_code ? codeBadge(w.last_status_code) : '—'),
      h('td', { 'data-label': 'Failures', class: 'num' }, h('div', {}, String(w.failure_count || 0),
        w.consecutive_failures ? h('div', { class: 'muted' }, `${w.consecutive_failures} in a row`) : null)),
      h('td', { 'data-label': 'Deliveries' }, h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}/deliveries`, class: 'deliveries-link' }, 'Delivery log')),
      h('td', { 'data-label': 'Actions', class: 'actions' }, actions(w))));
    fill(body, 
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'wh-table' },
        h('caption', { class: 'offscreen' }, 'Outgoing webhooks'),
        h('thead', {}, h('tr', {}, sortHeader(), ['Events', 'Endpoints', 'Status', 'Enabled', 'Last triggered', 'Last status', 'Failures', 'Deliveries', 'Actions']
          .map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows))),
      state.next ? h('button', { type: 'button', class: 'secondary', onclick: () => load(true) }, 'Load more') : null);
  }

  function actions(w) {
    const out = [h('button', { type: 'button', class: 'small', 'data-action': 'edit', 'aria-label': `Edit ${w.name}`, onclick: () => edit(w) }, 'Edit')];
    const paused = w.status === 'paused' || w.status === 'error';
    if (paused && features.resume) {
      out.push(h('button', { type: 'button', class: 'small', 'data-action': 'resume', 'aria-label': `Resume ${w.name}`, onclick: (e) => lifecycleCall(e.target, w, 'resume') }, 'Resume'));
    } else if (!paused && w.status !== 'unconfirmed' && w.status !== 'disabled' && features.pause) {
      out.push(h('button', { type: 'button', class: 'small', 'data-action': 'pause', 'aria-label': `Pause ${w.name}`, onclick: (e) => lifecycleCall(e.target, w, 'pause') }, 'Pause'));
    }
    if ((w.status === 'unconfirmed' || w.status === 'pending_confirmation') && features.resend) {
      out.push(h('button', { type: 'button', class: 'small', 'data-action': 'resend', 'aria-label': `Resend confirmation of ${w.name}`,
        onclick: (e) => lifecycleCall(e.target, w, 'confirmation/resend') }, 'Resend confirmation'));
    }
    out.push(h('button', { type: 'button', class: 'small', 'data-action': 'test', 'aria-label': `Send a test event to ${w.name}`, onclick: (e) => sendTest(e.target, w) }, 'Send test'));
    out.push(h('button', { type: 'button', class: 'small danger', 'data-action': 'delete', 'aria-label': `Delete ${w.name}`, onclick: () => remove(w) }, 'Delete'));
    return out;
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

function eventSummary(events) {
  const list = events || [];
  const shown = list.slice(0, 4).map((e) => h('span', { class: 'chip' }, e === '*' ? 'all events (*)' : e));
  return h('div', { class: 'chips' }, shown, list.length > 4 ? h('span', { class: 'muted' }, ` +${list.length - 4} more`) : null);
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
      const result = h('span', { class: 'test-result', role: 'status' });
      const row = h('div', { class: 'endpoint-row' });
      const rm = h('button', { type: 'button', class: 'icon danger ep-remove', title: 'Remove endpoint' }, '✕');
      const r = { row, url, on, result, id: ep.id || '' };
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
      row.append(r.label, url, h('label', { class: 'inline small-label', for: on.id }, on, ' Enabled'), rm, result, r.slot);
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
        r.row.dataset.index = String(i);
      });
    }
    const addBtn = h('button', { type: 'button', class: 'secondary', id: 'add-endpoint', onclick: () => addRow().url.focus() }, '+ Add endpoint');
    const testBtn = h('button', { type: 'button', class: 'secondary', id: 'test-endpoints' }, 'Test endpoints');
    testBtn.addEventListener('click', () => testEndpoints());
    (editing ? w.endpoints : [{ url: '', enabled: true }]).forEach((e) => addRow(e));

    async function testEndpoints() {
      clearErrors(form);
      const list = rows.filter((r) => r.url.value.trim());
      for (const r of rows) { r.result.textContent = ''; r.result.className = 'test-result'; }
      if (!list.length) { showErrors(form, { fields: { endpoints: 'Enter at least one endpoint URL to test.' } }); return; }
      const urls = list.map((r) => r.url.value.trim());
      for (const r of list) r.result.textContent = 'Testing…';
      try {
        const res = await busy(testBtn, 'Testing…', () => editing
          ? api.post(`/v1/webhooks/${encodeURIComponent(w.id)}/test`, { urls })
          : api.post('/v1/webhooks/test', { urls, format: format.value, secret: customSecret() || undefined }));
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
          const m = k.match(/^urls\[(\d+)\]$/);
          if (m && list[+m[1]]) fields[`endpoints[${rows.indexOf(list[+m[1]])}].url`] = v;
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
    const secretBox = h('div', { class: 'secret-box' });
    if (!editing) {
      const gen = h('input', { type: 'radio', name: 'secret-mode', value: 'generate', id: 'secret-generate', checked: true });
      const cus = h('input', { type: 'radio', name: 'secret-mode', value: 'custom', id: 'secret-custom' });
      secretInput = h('input', { type: 'text', id: 'secret', autocomplete: 'off', spellcheck: 'false', placeholder: 'at least 24 characters', disabled: true });
      const toggle = () => { secretInput.disabled = !cus.checked; if (cus.checked) secretInput.focus(); };
      gen.addEventListener('change', toggle);
      cus.addEventListener('change', toggle);
      secretMode.append(h('label', { for: 'secret-generate', class: 'inline' }, gen, ' Generate a secret for me'),
        h('label', { for: 'secret-custom', class: 'inline' }, cus, ' Use my own secret'), secretInput);
      secretBox.append(secretMode, errorSlot('secret', 'secret'), h('p', { class: 'hint' }, 'Deliveries are signed with this secret; it is shown once, after you save.'));
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

    const saveBtn = h('button', { type: 'submit', id: 'save' }, 'Save');
    form.append(
      h('p', { class: 'form-error', role: 'alert', hidden: true }),
      h('div', { class: 'field' }, h('label', { for: nameId }, 'Name ', h('span', { class: 'req', 'aria-hidden': 'true' }, '*')), name, errorSlot('name', nameId)),
      h('div', { class: 'field' }, h('label', { for: enabledId, class: 'inline switch' }, enabled, ' Enabled'),
        h('p', { class: 'hint' }, 'When off, the webhook receives nothing and keeps nothing.')),
      h('fieldset', { class: 'field' }, h('legend', {}, 'Endpoints'), endpointsBox, errorSlot('endpoints'),
        h('div', { class: 'row' }, addBtn, testBtn)),
      h('div', { class: 'field' }, h('label', { for: format.id }, 'Format'), format, errorSlot('format', format.id)),
      h('fieldset', { class: 'field' }, h('legend', {}, 'Events'), picker, errorSlot('events')),
      h('fieldset', { class: 'field' }, h('legend', {}, 'Secret'), secretBox),
      h('div', { class: 'buttons sticky' }, saveBtn, h('button', { type: 'button', class: 'secondary', id: 'cancel', onclick: () => close(saved) }, 'Cancel')));

    formats().then((list) => {
      formatList = list;
      const cur = editing ? w.format : 'standard';
      if (!list.some((f) => f.name === cur)) list.push({ name: cur, label: cur + ' (not loaded)', healthy: false, eventTypes: [] });
      fill(format, ...list.map((f) => h('option', { value: f.name, selected: f.name === cur },
        f.label + (f.healthy ? '' : ' — unavailable'))));
      renderPicker();
    });
    format.addEventListener('change', renderPicker);

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const body = {
        name: name.value,
        enabled: enabled.checked,
        endpoints: rows.map((r) => ({ ...(r.id ? { id: r.id } : {}), url: r.url.value.trim(), enabled: r.on.checked })),
        events: [...selected],
        format: format.value,
      };
      if (!editing && customSecret()) body.secret = customSecret();
      let res;
      try {
        res = await busy(saveBtn, 'Saving…', () => editing
          ? api.patch('/v1/webhooks/' + encodeURIComponent(w.id), body)
          : api.post('/v1/webhooks', body));
      } catch (err) {
        // A bad pattern (events[2]) is shown by the Events picker as a whole.
        const fields = {};
        for (const [k, v] of Object.entries(err.fields || {})) {
          const key = /^events\[\d+\]$/.test(k) ? 'events' : k;
          fields[key] = fields[key] ? fields[key] + ' ' + v : v;
        }
        showErrors(form, { message: err.message, fields });
        toast('Not saved: ' + err.message, 'error');
        return;
      }
      saved = true;
      toast(editing ? `Webhook “${res.name}” saved.` : `Webhook “${res.name}” created.`);
      if (!editing && res.secret) {
        fill(form, 
          h('p', {}, `Webhook “${res.name}” is created`, res.status === 'unconfirmed' ? ' and waits for its endpoints to confirm the subscription.' : '.'),
          secretPanel(res.secret),
          h('div', { class: 'buttons' }, h('button', { type: 'button', id: 'done', autofocus: true, onclick: () => close(true) }, 'Done')));
        form.querySelector('#done').focus();
        return;
      }
      close(true);
    });
    return form;
  }, { wide: true });
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
