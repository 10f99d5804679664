// incoming.js: incoming webhooks (secret URLs that call the CRM's API on the
// owner's behalf) and their request log. The routes are
// /v1/incoming-webhooks[/{id}[/rotate|/requests]]; when this server does not
// offer them the page says so.
import * as api from './api.js';
import { h, fill, id, toast, copy, when, modal, confirm, showErrors, clearErrors, errorSlot, busy } from './dom.js';
import { pluginList } from './catalog.js';

// The scopes of seed 001's "Access"; the server's configuration decides which
// exist and refuses unknown ones by name (shown next to the field).
// The scopes offered come from the server's configuration
// (GET /v1/incoming-scopes); a server without that route offers none but
// still takes scopes typed by hand.
async function configuredScopes() {
  try {
    const r = await api.get('/v1/incoming-scopes');
    return (r.data || []).map((s) => s.name);
  } catch (e) {
    return [];
  }
}

const address = (w) => w.url || w.address || w.webhook_url || '';

async function available() { return api.has('GET', '/v1/incoming-webhooks'); }

function unavailable(main) {
  fill(main, h('h1', {}, 'Incoming webhooks'),
    h('p', { class: 'note info', id: 'in-unavailable' }, 'This hookgate does not offer incoming webhooks (its API has no /v1/incoming-webhooks).'));
}

export function incomingPage(main) {
  const state = { list: [], search: '', error: null };
  let timer = null;
  const search = h('input', { type: 'search', id: 'in-search', placeholder: 'Search by name', 'aria-label': 'Search incoming webhooks by name' });
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => { state.search = search.value.trim(); load(); }, 250); });
  const body = h('div', { id: 'in-body' });

  available().then((ok) => {
    if (!ok) { unavailable(main); return; }
    fill(main, 
      h('div', { class: 'page-head' }, h('h1', {}, 'Incoming webhooks'),
        h('button', { type: 'button', id: 'in-new', onclick: () => create() }, '+ New incoming webhook')),
      h('p', { class: 'lead' }, 'An incoming webhook is a secret address through which another system calls the CRM’s API with your permissions, limited to the tools you give it access to. Keep the address secret; rotate it if it leaks.'),
      h('div', { class: 'toolbar' }, search),
      body);
    load();
  });

  async function load() {
    // Only the parameters issue 7 names (search); sorted by name here.
    const q = new URLSearchParams();
    if (state.search) q.set('search', state.search);
    try {
      const r = await api.get('/v1/incoming-webhooks' + (state.search ? '?' + q : ''));
      state.list = (Array.isArray(r) ? r : (r.data || [])).slice().sort((a, b) => String(a.name).localeCompare(String(b.name)));
      state.error = null;
    } catch (e) { state.error = e; }
    render();
  }

  function render() {
    if (state.error) { fill(body, h('p', { class: 'note error', role: 'alert' }, 'Could not load the incoming webhooks: ' + state.error.message)); return; }
    if (!state.list.length) {
      fill(body, h('div', { class: 'empty', id: 'in-empty' }, state.search ? h('p', {}, `No incoming webhook matches “${state.search}”.`)
        : [h('p', { class: 'big' }, 'No incoming webhooks yet'), h('p', {}, 'Create one to let another system call the CRM without a token of its own.'),
          h('button', { type: 'button', onclick: () => create() }, 'Create an incoming webhook')]));
      return;
    }
    fill(body, h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'in-table' },
      h('caption', { class: 'offscreen' }, 'Incoming webhooks'),
      h('thead', {}, h('tr', {}, ['Name', 'Access', 'Enabled', 'Webhook address', 'Created', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, state.list.map((w) => h('tr', { 'data-id': w.id, 'data-name': w.name },
        h('td', { 'data-label': 'Name' }, h('strong', {}, w.name)),
        h('td', { 'data-label': 'Access' }, h('div', { class: 'chips' }, (w.scopes || []).map((s) => h('span', { class: 'chip' }, s))),
          w.transform ? h('div', { class: 'muted small transform' }, 'Transform: ', w.transform) : null),
        h('td', { 'data-label': 'Enabled' }, h('span', { class: 'badge ' + (w.enabled ? 'on' : 'off') }, w.enabled ? 'Enabled' : 'Disabled')),
        h('td', { 'data-label': 'Webhook address' }, addressBox(address(w))),
        h('td', { 'data-label': 'Created' }, when(w.created_at)),
        h('td', { 'data-label': 'Actions', class: 'actions' }, actions(w))))))));
  }

  function actions(w) {
    const path = '/v1/incoming-webhooks/' + encodeURIComponent(w.id);
    const toggle = h('button', { type: 'button', class: 'small', 'data-action': w.enabled ? 'disable' : 'enable', 'aria-label': `${w.enabled ? 'Disable' : 'Enable'} ${w.name}` }, w.enabled ? 'Disable' : 'Enable');
    toggle.addEventListener('click', async () => {
      try {
        await busy(toggle, 'Saving…', () => api.patch(path, { enabled: !w.enabled }));
        toast(`Incoming webhook “${w.name}” ${w.enabled ? 'disabled: its address is refused from now on' : 'enabled'}.`);
      } catch (e) { toast('Could not change it: ' + e.message, 'error'); }
      load();
    });
    const rotate = h('button', { type: 'button', class: 'small', 'data-action': 'rotate', 'aria-label': `Rotate the address of ${w.name}` }, 'Rotate');
    rotate.addEventListener('click', async () => {
      if (!(await confirm('Rotate address', `Give “${w.name}” a new address? The current one stops working at once.`, 'Rotate'))) return;
      try {
        const r = await api.post(path + '/rotate');
        toast(`New address for “${w.name}”; the old one no longer works.`);
        await showAddress(r.name || w.name, address(r));
      } catch (e) { toast('Could not rotate: ' + e.message, 'error'); }
      load();
    });
    const del = h('button', { type: 'button', class: 'small danger', 'data-action': 'delete', 'aria-label': `Delete ${w.name}` }, 'Delete');
    del.addEventListener('click', async () => {
      if (!(await confirm('Delete incoming webhook', `Delete “${w.name}”? Its address stops working at once.`))) return;
      try { await api.del(path); toast(`Incoming webhook “${w.name}” deleted.`); } catch (e) { toast('Could not delete: ' + e.message, 'error'); }
      load();
    });
    const edit = h('button', { type: 'button', class: 'small', 'data-action': 'edit', 'aria-label': `Edit ${w.name}`, onclick: () => create(w) }, 'Edit');
    return [h('a', { class: 'button small secondary', href: `#/incoming/${encodeURIComponent(w.id)}/requests` }, 'Request log'), edit, toggle, rotate, del];
  }

  /** create opens the dialog for a new incoming webhook, or for w's name, access, transform and enabled state. */
  async function create(w) {
    const editing = !!w;
    const known = new Set(await configuredScopes());
    for (const x of state.list) for (const s of x.scopes || []) known.add(s);
    const transforms = await incomingTransforms();
    if (editing && w.transform && !transforms.includes(w.transform)) transforms.push(w.transform);
    const created = await modal(editing ? `Edit “${w.name}”` : 'New incoming webhook', (close) => {
      const nameId = id('in-name');
      const name = h('input', { id: nameId, required: true, autocomplete: 'off', autofocus: true, value: editing ? w.name : '' });
      const had = new Set(editing ? w.scopes || [] : []);
      const boxes = [...known].map((s) => h('input', { type: 'checkbox', value: s, id: 'scope-' + s, class: 'scope', checked: had.has(s) }));
      const other = h('input', { id: 'scope-other', placeholder: 'other scopes, comma-separated', autocomplete: 'off' });
      const enabled = h('input', { type: 'checkbox', id: 'in-enabled', role: 'switch', checked: editing ? w.enabled : true });
      const transform = h('select', { id: 'in-transform' }, h('option', { value: '' }, 'None: calls are passed on as they are'),
        transforms.map((t) => h('option', { value: t, selected: editing && w.transform === t }, `${t} (plugin)`)));
      const save = h('button', { type: 'submit', id: 'in-save' }, 'Save');
      const form = h('form', { novalidate: true },
        h('p', { class: 'form-error', role: 'alert', hidden: true }),
        h('div', { class: 'field' }, h('label', { for: nameId }, 'Name ', h('span', { class: 'req', 'aria-hidden': 'true' }, '*')), name, errorSlot('name', nameId)),
        h('fieldset', { class: 'field' }, h('legend', {}, 'Access'),
          h('p', { class: 'hint' }, 'The tools this address may call.'),
          h('div', { class: 'scopes' }, boxes.map((b) => h('label', { for: b.id, class: 'inline' }, b, ' ', b.value))),
          h('label', { for: 'scope-other', class: 'offscreen' }, 'Other scopes'), other, errorSlot('scopes')),
        h('div', { class: 'field' }, h('label', { for: 'in-transform' }, 'Transform'), transform, errorSlot('transform', 'in-transform'),
          h('p', { class: 'hint' }, 'A plugin that turns the caller’s messages into CRM calls (such as CloudCX contact messages).')),
        h('div', { class: 'field' }, h('label', { for: 'in-enabled', class: 'inline switch' }, enabled, ' Enabled')),
        h('div', { class: 'buttons' }, save, h('button', { type: 'button', class: 'secondary', onclick: () => close(null) }, 'Cancel')));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearErrors(form);
        const scopes = boxes.filter((b) => b.checked).map((b) => b.value)
          .concat(other.value.split(',').map((s) => s.trim()).filter(Boolean));
        const body = { name: name.value, scopes, enabled: enabled.checked };
        if (transform.value || (editing && w.transform)) body.transform = transform.value;
        try {
          const r = await busy(save, 'Saving…', () => editing
            ? api.patch('/v1/incoming-webhooks/' + encodeURIComponent(w.id), body)
            : api.post('/v1/incoming-webhooks', body));
          toast(editing ? `Incoming webhook “${r.name}” saved.` : `Incoming webhook “${r.name}” created.`);
          close(editing ? { saved: true } : r);
        } catch (err) {
          const fields = {};
          for (const [k, v] of Object.entries(err.fields || {})) fields[k.replace(/^scopes\[\d+\]$/, 'scopes')] = v;
          showErrors(form, { message: err.message, fields });
        }
      });
      return form;
    });
    if (created && created.saved) { load(); return; }
    if (created) { await showAddress(created.name, address(created)); load(); }
  }
}

/** incomingTransforms are the loaded plugins that handle incoming requests. */
async function incomingTransforms() {
  try {
    return (await pluginList()).filter((p) => p.incoming).map((p) => p.name);
  } catch {
    return [];
  }
}

function addressBox(url) {
  if (!url) return h('span', { class: 'muted' }, '—');
  const b = h('button', { type: 'button', class: 'small secondary', 'data-action': 'copy-address', 'aria-label': 'Copy the webhook address' }, 'Copy');
  b.addEventListener('click', () => copy(url, b));
  return h('div', { class: 'address' }, h('code', { class: 'url masked', title: url }, url), b);
}

function showAddress(name, url) {
  return modal(`Webhook address of “${name}”`, (close) => h('div', {},
    h('p', {}, 'Give this address to the system that calls the CRM. Anyone who has it can call the tools it has access to: keep it secret.'),
    h('div', { class: 'row' }, h('output', { class: 'secret', id: 'in-address' }, url), (() => {
      const b = h('button', { type: 'button', class: 'secondary', id: 'copy-address' }, 'Copy');
      b.addEventListener('click', () => copy(url, b));
      return b;
    })()),
    h('div', { class: 'buttons' }, h('button', { type: 'button', autofocus: true, onclick: () => close() }, 'Done'))));
}

export function requestsPage(main, webhookID) {
  let timer = null;
  let alive = true;
  const body = h('div', { id: 'rq-body' });
  const title = h('h1', {}, 'Request log');
  fill(main, h('p', {}, h('a', { href: '#/incoming' }, '← Incoming webhooks')), title,
    h('p', { class: 'lead' }, 'The latest calls to this address, newest first. Refreshes by itself.'), body);
  api.get('/v1/incoming-webhooks/' + encodeURIComponent(webhookID)).then((w) => { title.textContent = `Request log — ${w.name}`; }).catch(() => {});
  const open = new Set();
  async function load() {
    let list;
    try {
      const r = await api.get(`/v1/incoming-webhooks/${encodeURIComponent(webhookID)}/requests`);
      list = Array.isArray(r) ? r : (r.data || []);
    } catch (e) {
      fill(body, h('p', { class: 'note error', role: 'alert' }, 'Could not load the request log: ' + e.message));
      return;
    }
    if (!alive) return;
    if (!list.length) { fill(body, h('div', { class: 'empty', id: 'rq-empty' }, h('p', {}, 'No calls yet.'))); return; }
    const rows = [];
    list.forEach((q, i) => {
      const key = q.id || q.request_id || String(i);
      const status = q.status || q.status_code || 0;
      const ok = status >= 200 && status < 400;
      const x = h('button', { type: 'button', class: 'icon expand', 'aria-expanded': open.has(key) ? 'true' : 'false', 'aria-label': 'Details of this call' }, open.has(key) ? '▾' : '▸');
      x.addEventListener('click', () => { if (open.has(key)) open.delete(key); else open.add(key); load(); });
      rows.push(h('tr', { class: ok ? 'ok' : 'fail' },
        h('td', { class: 'expand-cell' }, x),
        h('td', { 'data-label': 'Time' }, when(q.at || q.time || q.created_at)),
        h('td', { 'data-label': 'Method' }, q.method),
        h('td', { 'data-label': 'Path' }, h('code', {}, q.path)),
        h('td', { 'data-label': 'Status' }, h('span', { class: 'badge ' + (ok ? 'ok' : 'fail') }, String(status))),
        h('td', { 'data-label': 'Latency', class: 'num' }, `${Math.round(q.latency_ms ?? q.duration_ms ?? 0)} ms`),
        h('td', { 'data-label': 'Caller' }, q.caller_ip || q.ip || q.remote_ip || ''),
        h('td', { 'data-label': 'Denied because', class: 'denied' }, q.denied || '')));
      if (open.has(key)) {
        rows.push(h('tr', { class: 'detail' }, h('td', { colspan: 8 }, h('div', { class: 'cols' },
          h('div', {}, h('h4', {}, 'Request body'), h('pre', { tabindex: 0 }, q.request_body || '(empty)')),
          h('div', {}, h('h4', {}, 'Response body'), h('pre', { tabindex: 0 }, q.response_body || '(empty)'))))));
      }
    });
    fill(body, h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, h('span', { class: 'offscreen' }, 'Expand')),
        ['Time', 'Method', 'Path', 'Status', 'Latency', 'Caller', 'Denied because'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))));
  }
  function schedule() { clearTimeout(timer); if (alive) timer = setTimeout(async () => { if (!document.hidden) await load(); schedule(); }, 3000); }
  available().then((ok) => { if (!ok) { unavailable(main); alive = false; return; } load().then(schedule); });
  return () => { alive = false; clearTimeout(timer); };
}
