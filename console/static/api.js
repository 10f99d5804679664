// api.js: the console's only way to the server: hookgate's public JSON API,
// with the admin token kept in sessionStorage (never in a URL).

const KEY = 'hookgate.token';

/** ApiError carries the API's error body: code, message and per-field messages. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.fields = e.fields || {};
    this.requestId = e.request_id || '';
  }
}

export function token() { return sessionStorage.getItem(KEY) || ''; }
export function setToken(t) { sessionStorage.setItem(KEY, t); }
export function clearToken() { sessionStorage.removeItem(KEY); }

/** claims decodes the token's payload for display only; the server verifies it. */
export function claims(t = token()) {
  try {
    const p = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(p + '='.repeat((4 - p.length % 4) % 4)));
  } catch { return {}; }
}

let onUnauthorized = () => {};
/** whenUnauthorized sets what happens when the API answers 401 (session over). */
export function whenUnauthorized(fn) { onUnauthorized = fn; }

/** call sends one API request and returns the decoded JSON (null for 204). */
export async function call(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const t = opts.token === undefined ? token() : opts.token;
  if (t) headers.Authorization = 'Bearer ' + t;
  const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { error: { code: 'network', message: 'hookgate does not answer: ' + err.message } });
  }
  const text = await res.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = null; } }
  if (!res.ok) {
    const e = new ApiError(res.status, data);
    if (res.status === 401 && opts.token === undefined) onUnauthorized(e);
    throw e;
  }
  return data;
}

export const get = (p, o) => call('GET', p, undefined, o);
export const post = (p, b) => call('POST', p, b === undefined ? {} : b);
export const patch = (p, b) => call('PATCH', p, b);
export const del = (p) => call('DELETE', p);

let documented = null;
const known = new Map();
/**
 * has reports whether the server offers a route, so that the console shows
 * only what this server can do. path is in OpenAPI form
 * (/v1/webhooks/{id}/pause). A route documented in /v1/openapi.json counts;
 * otherwise the route is probed with a GET, without a token and so without
 * side effects: an unknown route answers 404, while a route that exists
 * answers 401 (it needs a token) or 405 (a POST-only route).
 */
export async function has(method, path) {
  if (!documented) {
    documented = get('/v1/openapi.json', { token: '' }).then((doc) => doc.paths || {}).catch(() => ({}));
  }
  const ops = (await documented)[path];
  if (ops && ops[method.toLowerCase()]) return true;
  const key = method + ' ' + path;
  if (!known.has(key)) {
    const url = path.replace(/\{[^}]+\}/g, '_');
    known.set(key, fetch(url, { method: 'GET', cache: 'no-store', credentials: 'omit' })
      .then((r) => r.status !== 404)
      .catch(() => false));
  }
  return known.get(key);
}
