// dom.js: small helpers to build the DOM safely (text is never parsed as
// HTML), show feedback, copy text and run modal dialogs.

/** h builds an element: h('button', {class: 'x', onclick: fn}, 'text', child). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let uid = 0;
/** id returns a fresh element id. */
export const id = (p = 'f') => `${p}${++uid}`;

/** toast shows a short message in the live region (read by screen readers). */
export function toast(msg, kind = 'ok') {
  const box = document.getElementById('toasts');
  // An open modal dialog is in the browser's top layer, above any z-index:
  // the toasts go into the topmost dialog so that they are seen.
  const dialogs = document.querySelectorAll('dialog[open]');
  const host = dialogs.length ? dialogs[dialogs.length - 1] : document.body;
  if (box.parentNode !== host) host.append(box);
  const t = h('div', { class: 'toast ' + kind, role: kind === 'error' ? 'alert' : null }, msg);
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 9000 : 4000);
}

/** copy puts text on the clipboard and says so on the button. */
export async function copy(text, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    const ta = h('textarea', { class: 'offscreen', readonly: true }, text);
    document.body.append(ta);
    ta.select();
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    ta.remove();
  }
  if (button) {
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = ok ? 'Copied' : 'Copy failed: select and copy by hand';
    button.dataset.copied = ok ? 'yes' : 'no';
    setTimeout(() => { button.textContent = label; }, 2500);
  }
  toast(ok ? 'Copied to the clipboard' : 'Could not copy; select the text and copy it by hand', ok ? 'ok' : 'error');
  return ok;
}

/** when formats an ISO time for people; "never" for none. */
export function when(iso) {
  if (!iso) return 'never';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/**
 * modal opens a native <dialog> (focus trapped, Escape closes) built by
 * build(close) and resolves with what close() was given.
 */
export function modal(title, build, opts = {}) {
  return new Promise((resolve) => {
    const titleId = id('dlg');
    const dlg = h('dialog', { class: 'dialog ' + (opts.wide ? 'wide' : ''), 'aria-labelledby': titleId });
    let done = false;
    const close = (v) => {
      if (done) return;
      done = true;
      const box = document.getElementById('toasts');
      if (box && dlg.contains(box)) {
        const others = [...document.querySelectorAll('dialog[open]')].filter((d) => d !== dlg);
        (others.length ? others[others.length - 1] : document.body).append(box);
      }
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); close(undefined); });
    dlg.append(h('h2', { id: titleId }, title), build(close, dlg));
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector('[autofocus]') || dlg.querySelector('input, select, textarea, button');
    if (first) first.focus();
  });
}

/** confirm asks a yes/no question in a dialog. */
export function confirm(title, text, yes = 'Delete') {
  return modal(title, (close) => h('div', {},
    h('p', {}, text),
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'danger', 'data-action': 'confirm', onclick: () => close(true) }, yes),
      h('button', { type: 'button', class: 'secondary', autofocus: true, onclick: () => close(false) }, 'Cancel'))));
}

/**
 * showErrors puts an API error next to the fields it concerns: each element
 * with data-error-for="field" shows fields[field]; messages for fields with
 * no place in the form go to the form's summary. It focuses the first
 * invalid control.
 */
export function showErrors(form, err) {
  clearErrors(form);
  const fields = (err && err.fields) || {};
  const left = [];
  let first = null;
  for (const [name, msg] of Object.entries(fields)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (!slot) { left.push(`${name}: ${msg}`); continue; }
    slot.textContent = msg;
    slot.hidden = false;
    const ctl = slot.dataset.control ? form.querySelector('#' + CSS.escape(slot.dataset.control)) : null;
    if (ctl) {
      ctl.setAttribute('aria-invalid', 'true');
      ctl.setAttribute('aria-describedby', slot.id);
      first = first || ctl;
    } else {
      first = first || slot;
    }
  }
  const summary = form.querySelector('.form-error');
  if (summary) {
    const msg = Object.keys(fields).length ? (left.length ? left.join('; ') : 'Please correct the fields marked below.') : (err.message || String(err));
    summary.textContent = msg;
    summary.hidden = false;
  }
  // Focus the first invalid control in the order of the form, not of the map.
  first = form.querySelector('[aria-invalid="true"]') || first;
  if (first && first.focus) first.focus();
}

/** clearErrors hides every error message of the form. */
export function clearErrors(form) {
  for (const s of form.querySelectorAll('[data-error-for], .form-error')) { s.textContent = ''; s.hidden = true; }
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
}

/** errorSlot is the element that shows the error of one field. */
export function errorSlot(field, control) {
  return h('p', { class: 'field-error', id: id('err'), 'data-error-for': field, 'data-control': control || null, hidden: true });
}

/** busy disables a button while fn runs and gives it a busy label. */
export async function busy(button, label, fn) {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  try { return await fn(); } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = old;
  }
}

/** fill replaces el's children (arrays flattened, null and false skipped). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}
