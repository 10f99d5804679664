// The webhook dialog's Filter section: the webhook's content filter as JSON
// (docs/filters.md) and "Try it on the example event", which asks the API
// whether the catalogue's example of an event type, or data pasted in,
// would get through (POST /v1/webhooks/filter/preview).
import * as api from './api.js';
import { h, fill } from './dom.js';
import { eventTypes } from './catalog.js';
import { addDialogSection } from './webhooks.js';

const placeholder = '{"data.amount": {"$gte": 1000}}';

addDialogSection({
  id: 'filter', order: 55,
  build(ctx) {
    const saved = ctx.webhook && ctx.webhook.filter && Object.keys(ctx.webhook.filter).length ? ctx.webhook.filter : null;
    const src = h('textarea', { id: 'wh-filter', name: 'filter', rows: '3', spellcheck: 'false', placeholder,
      'aria-label': 'Filter (JSON)', 'aria-describedby': 'wh-filter-help' });
    src.value = saved ? JSON.stringify(saved, null, 2) : '';
    const type = h('select', { id: 'filter-type', 'aria-label': 'Event type to try' });
    const data = h('textarea', { id: 'filter-data', rows: '4', spellcheck: 'false', 'aria-label': 'Event data to try (JSON)',
      placeholder: 'the example event of the type; paste data of your own to try it instead' });
    const status = h('p', { id: 'filter-status', role: 'status', hidden: true });
    const tryIt = h('button', { type: 'button', id: 'filter-try', class: 'secondary' }, 'Try it on the example event');

    eventTypes().then((list) => {
      const subscribed = ctx.events ? ctx.events() : [];
      const first = list.find((t) => subscribed.some((p) => p === '*' || p === t.name || (p.endsWith('.*') && t.name.startsWith(p.slice(0, -1)))));
      fill(type, ...list.map((t) => h('option', { value: t.name, selected: first && t.name === first.name }, t.name)));
    }).catch(() => {});

    // parse reads the filter box: null when empty, else the object, or
    // throws with a message that says what is wrong.
    function parse() {
      const v = src.value.trim();
      if (!v) return null;
      let f;
      try { f = JSON.parse(v); } catch (e) { throw new Error('The filter is not valid JSON: ' + e.message); }
      if (!f || typeof f !== 'object' || Array.isArray(f)) throw new Error('The filter must be a JSON object, e.g. ' + placeholder);
      return f;
    }

    tryIt.addEventListener('click', async () => {
      status.hidden = false; status.className = ''; status.textContent = 'Trying…';
      try {
        const body = { filter: parse(), event_type: type.value };
        const d = data.value.trim();
        if (d) {
          try { body.data = JSON.parse(d); } catch (e) { throw new Error('The event data is not valid JSON: ' + e.message); }
        }
        const r = await api.post('/v1/webhooks/filter/preview', body);
        if (!d) data.value = JSON.stringify(r.event.data, null, 2);
        status.className = r.matches ? 'ok' : 'muted';
        status.textContent = r.matches
          ? `Delivered: the filter lets this ${r.event.type} event through.`
          : `Filtered out: this ${r.event.type} event would not be delivered.`;
      } catch (e) {
        const f = Object.entries(e.fields || {}).filter(([k]) => k.startsWith('filter') || k === 'data' || k === 'event_type');
        status.className = 'error';
        status.textContent = 'Error: ' + (f.length ? f.map(([k, v]) => `${k}: ${v}`).join('; ') : e.message);
      }
    });

    const el = h('fieldset', { class: 'filter' },
      h('legend', {}, 'Filter'),
      h('p', { id: 'wh-filter-help', class: 'help' }, 'Optional: deliver only the events whose content matches, as JSON, e.g. ',
        h('code', {}, placeholder), '. Operators: $eq $neq $gt $gte $lt $lte $in $nin $exists $and $or. See docs/filters.md.'),
      src, ctx.errorSlot('filter', 'wh-filter'),
      h('details', { class: 'filter-try' }, h('summary', {}, 'Try it'),
        h('div', { class: 'row' }, type, tryIt), data, status));
    return {
      element: el,
      collect(body) {
        let f;
        try { f = parse(); } catch (e) { f = src.value; } // sent as is: the API names the problem
        if (f !== null) body.filter = f;
        else if (saved) body.filter = null;
      },
    };
  },
});
