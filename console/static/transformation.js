// The webhook dialog's Transformation section: an editor for the webhook's
// inline JavaScript transformation and a "Try it" preview on the catalogue's
// example event (POST /v1/webhooks/transformation/preview).
import * as api from './api.js';
import { h } from './dom.js';
import { addDialogSection } from './webhooks.js';

const placeholder = 'function handler(input) {\n  // input.event {id, type, data}, input.body (as the format rendered it), input.headers\n  return {body: input.body};  // or null to skip the event\n}';

addDialogSection({
  id: 'transformation', order: 45,
  build(ctx) {
    const src = h('textarea', { id: 'wh-transformation', name: 'transformation', rows: '8', spellcheck: 'false',
      placeholder, 'aria-label': 'Transformation source', 'aria-describedby': 'wh-transformation-help' });
    src.value = (ctx.webhook && ctx.webhook.transformation) || '';
    const result = h('pre', { id: 'transformation-result', hidden: true, 'aria-live': 'polite' });
    const status = h('p', { id: 'transformation-status', hidden: true });
    const tryIt = h('button', { type: 'button', id: 'transformation-try' }, 'Try it');
    tryIt.addEventListener('click', async () => {
      status.hidden = false; result.hidden = true;
      status.className = ''; status.textContent = 'Running…';
      try {
        const r = await api.post('/v1/webhooks/transformation/preview', { transformation: src.value, format: ctx.format() });
        if (!r.ok) {
          status.className = 'error'; status.textContent = 'Error: ' + r.error;
        } else if (r.skip) {
          status.textContent = 'Skipped: ' + (r.skip_reason || 'the handler returned null');
        } else {
          status.textContent = 'Result on an example ' + r.event.type + ' event:';
          const hs = Object.entries(r.output.headers || {}).map(([k, v]) => k + ': ' + v).join('\n');
          result.textContent = (hs ? hs + '\n\n' : '') + r.output.body;
          result.hidden = false;
        }
      } catch (e) {
        status.className = 'error'; status.textContent = 'Error: ' + ((e.fields && e.fields.transformation) || e.message);
      }
    });
    const version = ctx.webhook && ctx.webhook.transformation_version ? ' (version ' + ctx.webhook.transformation_version + ')' : '';
    const el = h('fieldset', { class: 'transformation' },
      h('legend', {}, 'Transformation' + version),
      h('p', { id: 'wh-transformation-help', class: 'help' }, 'Optional JavaScript run after the format: return {body, headers} or null to skip the event. See docs/transformations.md.'),
      src, ctx.errorSlot('transformation', 'wh-transformation'), h('div', {}, tryIt), status, result);
    return {
      element: el,
      collect(body) {
        const v = src.value.trim();
        if (v || (ctx.webhook && ctx.webhook.transformation)) body.transformation = v ? src.value : '';
      },
    };
  },
});
