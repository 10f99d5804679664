// catalog.js: what the API says exists (event types, plugins and their
// formats), loaded once per sign-in and shared by the pages.
import * as api from './api.js';

let types = null;
let plugins = null;

/** eventTypes returns the catalogue: [{name, category, object, action, description}]. */
export function eventTypes() {
  if (!types) types = api.get('/v1/event-types').then((r) => r.data || []).catch((e) => { types = null; throw e; });
  return types;
}

/** pluginList returns the loaded plugins (GET /v1/plugins). */
export function pluginList(fresh = false) {
  if (!plugins || fresh) plugins = api.get('/v1/plugins').then((r) => r.data || []).catch((e) => { plugins = null; throw e; });
  return plugins;
}

/**
 * formats returns the payload formats an admin can choose: the built-in
 * "standard" and every format of a loaded plugin, with the event types the
 * plugin handles (empty: any) and whether it is healthy.
 */
export async function formats() {
  const out = [{ name: 'standard', plugin: '', healthy: true, eventTypes: [], label: 'standard (hookgate)' }];
  let list = [];
  try { list = await pluginList(); } catch { /* no plugins route: standard only */ }
  for (const p of list) {
    for (const f of p.formats || []) {
      if (f === 'standard') continue;
      out.push({ name: f, plugin: p.name, healthy: !!p.healthy, eventTypes: p.event_types || [],
        needsConfirmation: !!p.needs_confirmation, label: `${f} (plugin ${p.name}${p.version ? ' ' + p.version : ''})` });
    }
  }
  return out;
}

/** forget drops what was loaded (on sign-out, another tenant may sign in). */
export function forget() { types = null; plugins = null; }
