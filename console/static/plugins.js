// plugins.js: the loaded plugins with their health, version and formats.
import { h, fill, busy } from './dom.js';
import { pluginList } from './catalog.js';

export function pluginsPage(main) {
  const body = h('div', { id: 'pl-body' });
  const refresh = h('button', { type: 'button', class: 'secondary', id: 'pl-refresh' }, 'Refresh');
  refresh.addEventListener('click', () => busy(refresh, 'Refreshing…', () => load(true)));
  fill(main, h('div', { class: 'page-head' }, h('h1', {}, 'Plugins'), refresh),
    h('p', { class: 'lead' }, 'Plugins turn events into the formats webhooks choose. Each runs in its own process; hookgate restarts one that fails.'),
    body);
  async function load(fresh) {
    let list;
    try { list = await pluginList(fresh); } catch (e) {
      fill(body, h('p', { class: 'note error', role: 'alert' }, 'Could not load the plugins: ' + e.message));
      return;
    }
    if (!list.length) { fill(body, h('div', { class: 'empty', id: 'pl-empty' }, h('p', {}, 'No plugin is loaded: webhooks can use the standard format only.'))); return; }
    fill(body, h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'pl-table' },
      h('caption', { class: 'offscreen' }, 'Loaded plugins'),
      h('thead', {}, h('tr', {}, ['Name', 'Health', 'Version', 'Formats', 'Transforms', 'Incoming', 'Restarts'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map((p) => h('tr', { 'data-name': p.name },
        h('td', { 'data-label': 'Name' }, h('div', {}, h('strong', {}, p.name), p.needs_confirmation ? h('div', { class: 'muted' }, 'receivers confirm the subscription') : null)),
        h('td', { 'data-label': 'Health' }, h('div', {}, h('span', { class: 'badge ' + (p.healthy ? 'ok' : 'fail') }, p.healthy ? 'Healthy' : 'Unhealthy'),
          p.reason ? h('div', { class: 'muted' }, p.reason) : null)),
        h('td', { 'data-label': 'Version' }, p.version || '—'),
        h('td', { 'data-label': 'Formats' }, h('div', { class: 'chips' }, (p.formats || []).map((f) => h('span', { class: 'chip' }, f)))),
        h('td', { 'data-label': 'Transforms' }, (p.transforms || []).join(', ') || '—'),
        h('td', { 'data-label': 'Incoming' }, p.incoming ? 'Yes' : 'No'),
        h('td', { 'data-label': 'Restarts', class: 'num' }, String(p.restarts || 0))))))));
  }
  load(false);
  return null;
}
