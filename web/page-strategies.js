// page-strategies.js — the strategy library: list with search, tag and archived filters;
// import, export, duplicate, delete; and the editor (fields + the elements as JSON), which
// shows every validation problem the API names, with its JSON Pointer.

import { del, download, get, post, put, query } from './api.js';
import {
  busy, checkbox, errorBox, field, h, heading, readJson, replace, select, table, warningBox,
} from './dom.js';
import { timestamp } from './format.js';

export async function render(view, { path, params }) {
  if (path[1] === 'new') return renderEditor(view, null);
  if (path[1]) return renderEditor(view, path[1]);
  return renderList(view, params);
}

// ---- list -------------------------------------------------------------------------------

async function renderList(view, params) {
  const filters = {
    q: params.get('q') ?? '',
    tag: params.get('tag') ?? '',
    archived: params.get('archived') ?? 'false',
  };
  const search = h('input', { type: 'search', value: filters.q, placeholder: 'name contains…' });
  const tag = h('input', { type: 'text', value: filters.tag, placeholder: 'any tag' });
  const archived = select([['false', 'Active'], ['true', 'Archived'], ['all', 'All']], filters.archived);
  const filterForm = h('form', { class: 'row', role: 'search' },
    h('div', { class: 'grow' }, field('Search', search)),
    field('Tag', tag),
    field('Show', archived),
    h('div', { class: 'field' }, h('button', { type: 'submit' }, 'Filter')));
  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/strategies${query({ q: search.value.trim(), tag: tag.value.trim(), archived: archived.value === 'false' ? '' : archived.value })}`;
  });
  archived.addEventListener('change', () => filterForm.requestSubmit());

  const message = h('div', {});
  const listHolder = h('div', {});
  const reload = async () => {
    const page = await get(`/api/v1/strategies${query({ ...filters, limit: 1000 })}`);
    replace(listHolder,
      h('p', { class: 'muted small' }, `${page.total} strateg${page.total === 1 ? 'y' : 'ies'}`),
      strategyTable(page.items, message, reload));
  };

  replace(view,
    h('div', { class: 'spread' },
      heading('Strategies'),
      h('a', { class: 'button primary', href: '#/strategies/new' }, 'New strategy')),
    h('div', { class: 'panel' }, filterForm),
    importPanel(message),
    message,
    listHolder);
  await reload();
}

function strategyTable(items, message, reload) {
  const act = (label, handler, cls) => h('button', { type: 'button', class: cls, onclick: handler }, label);
  return table([
    { label: 'Name', cell: (st) => h('span', {}, h('a', { href: `#/strategies/${st.id}` }, st.name),
        st.is_public ? [' ', h('span', { class: 'badge' }, 'public')] : null,
        st.is_archived ? [' ', h('span', { class: 'badge' }, 'archived')] : null) },
    { label: 'Tags', cell: (st) => (st.tags ?? []).map((t) => h('a', { class: 'badge', href: `#/strategies?tag=${encodeURIComponent(t)}` }, t)) },
    { label: 'Benchmark', cell: (st) => st.benchmark_symbol ?? 'SPY' },
    { label: 'Updated', cell: (st) => timestamp(st.updated_at) },
    { label: 'Actions', cell: (st) => h('div', { class: 'actions' },
        h('a', { class: 'button', href: `#/backtest?strategy=${st.id}` }, 'Backtest'),
        act('Export', async () => {
          try { await download(`/api/v1/strategies/${st.id}/export`, `${slug(st.name)}.json`); }
          catch (error) { replace(message, errorBox(error, 'Export failed')); }
        }),
        act('Duplicate', async () => {
          try {
            const copy = await post(`/api/v1/strategies/${st.id}/duplicate`, { name: `${st.name} (copy)` });
            location.hash = `#/strategies/${copy.id}`;
          } catch (error) { replace(message, errorBox(error, 'Duplicate failed')); }
        }),
        act('Delete', async () => {
          if (!confirm(`Delete "${st.name}"? This cannot be undone.`)) return;
          try { await del(`/api/v1/strategies/${st.id}`); await reload(); }
          catch (error) { replace(message, errorBox(error, 'Delete failed')); }
        }, 'danger')) },
  ], items, 'No strategies match. Create one, or import a document.');
}

function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'strategy';
}

// A document pasted or read from a file, sent to POST /strategies/import (exports, the
// builder's camelCase documents and bare elements arrays are all accepted there).
function importPanel(message) {
  const text = h('textarea', { class: 'code', rows: 10, spellcheck: 'false', placeholder: '{"name": "…", "elements": [ … ]}' });
  const file = h('input', { type: 'file', accept: '.json,application/json' });
  file.addEventListener('change', async () => {
    if (file.files[0]) text.value = await file.files[0].text();
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Import');
  const form = h('form', {}, field('Strategy document (JSON)', text), field('…or read it from a file', file), submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await busy(submit, 'Importing…', async () => {
      try {
        const created = await post('/api/v1/strategies/import', readJson(text.value, 'The document'));
        location.hash = `#/strategies/${created.id}`;
      } catch (error) {
        replace(message, errorBox(error, 'Import failed'));
      }
    });
  });
  return h('details', { class: 'panel import' }, h('summary', {}, 'Import a strategy document'), form);
}

// ---- editor -----------------------------------------------------------------------------

const EMPTY_ELEMENTS = [{ id: 'ticker-1', type: 'ticker', ticker: 'SPY', weight: 100 }];

async function renderEditor(view, id) {
  const strategy = id ? await get(`/api/v1/strategies/${encodeURIComponent(id)}`) : null;
  const readOnly = strategy && strategy.is_owner === false;
  const name = h('input', { type: 'text', value: strategy?.name ?? '', required: true, maxlength: 500 });
  const description = h('textarea', { rows: 2 });
  description.value = strategy?.description ?? '';
  const benchmark = h('input', { type: 'text', value: strategy?.benchmark_symbol ?? 'SPY', size: 8 });
  const start = h('input', { type: 'text', value: strategy?.start_date ?? '', placeholder: 'YYYY-MM-DD', size: 12 });
  const end = h('input', { type: 'text', value: strategy?.end_date ?? '', placeholder: 'YYYY-MM-DD', size: 12 });
  const tags = h('input', { type: 'text', value: (strategy?.tags ?? []).join(', '), placeholder: 'trend, etf' });
  const isPublic = h('input', { type: 'checkbox', checked: strategy?.is_public ?? false });
  const isArchived = h('input', { type: 'checkbox', checked: strategy?.is_archived ?? false });
  const elements = h('textarea', { class: 'code', rows: 24, spellcheck: 'false', 'aria-describedby': 'elements-hint' });
  elements.value = JSON.stringify(strategy?.elements ?? EMPTY_ELEMENTS, null, 2);
  const message = h('div', { 'aria-live': 'polite' });

  // A whole document pasted into the elements box fills the other fields too.
  elements.addEventListener('paste', () => setTimeout(() => {
    let doc;
    try { doc = JSON.parse(elements.value); } catch { return; }
    if (!doc || Array.isArray(doc) || !Array.isArray(doc.elements)) return;
    if (doc.name && !name.value) name.value = doc.name;
    if (doc.description && !description.value) description.value = doc.description;
    if (doc.benchmark_symbol ?? doc.benchmarkSymbol) benchmark.value = doc.benchmark_symbol ?? doc.benchmarkSymbol;
    elements.value = JSON.stringify(doc.elements, null, 2);
  }, 0));

  const body = () => ({
    name: name.value.trim(),
    description: description.value.trim() || null,
    benchmark_symbol: benchmark.value.trim() || null,
    start_date: start.value.trim() || null,
    end_date: end.value.trim() || null,
    tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean),
    is_public: isPublic.checked,
    is_archived: isArchived.checked,
    elements: readJson(elements.value, 'Elements'),
  });
  const showProblems = (error, intro) => {
    elements.setAttribute('aria-invalid', String((error.details ?? []).some((d) => (d.path ?? '').startsWith('/elements') || d.path === '')));
    replace(message, errorBox(error, intro));
    message.scrollIntoView({ block: 'nearest' });
  };

  const save = h('button', { type: 'submit', class: 'primary', disabled: readOnly }, id ? 'Save' : 'Create');
  const validate = h('button', { type: 'button' }, 'Check');
  const form = h('form', { class: 'panel editor' },
    h('div', { class: 'row' },
      h('div', { class: 'grow' }, field('Name', name)),
      field('Benchmark', benchmark),
      field('Start', start, 'empty or max: all data'),
      field('End', end, 'empty: the last bar')),
    field('Description', description),
    h('div', { class: 'row' },
      h('div', { class: 'grow' }, field('Tags', tags, 'comma-separated')),
      checkbox('Public (others may read and copy it)', isPublic),
      checkbox('Archived', isArchived)),
    field('Elements (JSON)', elements),
    h('p', { class: 'hint small muted', id: 'elements-hint' },
      'The rule tree: weights, gates, sorts and scales (see the strategy language). Paste a whole exported document to fill every field.'),
    message,
    h('div', { class: 'actions' }, save, validate,
      id ? h('a', { class: 'button', href: `#/backtest?strategy=${id}` }, 'Backtest') : null,
      h('a', { class: 'button', href: '#/strategies' }, 'Back to the list')));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await busy(save, 'Saving…', async () => {
      try {
        const written = id ? await put(`/api/v1/strategies/${id}`, body()) : await post('/api/v1/strategies', body());
        elements.setAttribute('aria-invalid', 'false');
        replace(message,
          h('div', { class: 'notice success', role: 'status' }, h('p', {}, `Saved "${written.name}".`)),
          warningBox(written.warnings));
        if (!id) location.hash = `#/strategies/${written.id}`;
      } catch (error) {
        showProblems(error, id ? 'Not saved' : 'Not created');
      }
    });
  });
  validate.addEventListener('click', async () => {
    await busy(validate, 'Checking…', async () => {
      try {
        const verdict = await post('/api/v1/validate', { strategy: { elements: readJson(elements.value, 'Elements') } });
        if (verdict.valid) {
          elements.setAttribute('aria-invalid', 'false');
          replace(message, h('div', { class: 'notice success', role: 'status' }, h('p', {}, 'The strategy is valid.')), warningBox(verdict.warnings));
        } else {
          showProblems({ message: `${verdict.problems.length} problem(s)`, details: verdict.problems }, 'Invalid');
        }
      } catch (error) {
        showProblems(error, 'Check failed');
      }
    });
  });

  replace(view,
    heading(strategy ? strategy.name : 'New strategy'),
    readOnly ? h('div', { class: 'notice warning' }, h('p', {}, "Another trader's public strategy: duplicate it to change it.")) : null,
    strategy ? h('p', { class: 'muted small' }, `Strategy ${strategy.id} · created ${timestamp(strategy.created_at)} · updated ${timestamp(strategy.updated_at)}`) : null,
    form);
}
