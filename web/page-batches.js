// page-batches.js — batch jobs: create one from a strategy with $variables (values typed as
// JSON and/or saved variable lists), follow its progress live (runs per second, ETA, cancel),
// then read the runs (sortable, filtered with `where`), download the CSV and draw a heatmap.

import { download, get, post, query } from './api.js';
import {
  busy, checkbox, errorBox, field, h, heading, readJson, replace, select, table, variablesIn,
} from './dom.js';
import { heatmap } from './chart.js';
import { METRICS, duration, integer, metric, metricLabel, ratio, timestamp } from './format.js';

const POLL_MS = 1500;
const ACTIVE = new Set(['queued', 'running']);
const PAGE_SIZE = 50;

export async function render(view, { path, params }) {
  if (path[1] === 'new') return renderNew(view, params);
  if (path[1]) return renderJob(view, path[1]);
  return renderList(view);
}

function statusBadge(status) {
  return h('span', { class: `badge ${status}` }, status);
}

function progress(job) {
  const percent = job.total > 0 ? Math.floor((job.completed / job.total) * 100) : 0;
  return h('span', { class: 'progress' },
    h('progress', { max: job.total || 1, value: job.completed, 'aria-label': `${percent}% done` }),
    ` ${integer(job.completed)} / ${integer(job.total)}`);
}

function cancelButton(job, after, message) {
  if (!ACTIVE.has(job.status)) return null;
  return h('button', { type: 'button', class: 'danger', onclick: async (event) => {
    if (!confirm(`Cancel "${job.name ?? job.id}"? Finished runs are kept.`)) return;
    await busy(event.currentTarget, 'Cancelling…', async () => {
      try { await post(`/api/v1/batch-jobs/${job.id}/cancel`); await after(); }
      catch (error) { replace(message, errorBox(error, 'Cancel failed')); }
    });
  } }, 'Cancel');
}

// Calls `tick` every POLL_MS while it returns true; returns the function that stops it.
function poll(tick) {
  let timer = null;
  let stopped = false;
  const loop = async () => {
    let again = false;
    try { again = await tick(); } catch { again = true; }
    if (again && !stopped) timer = setTimeout(loop, POLL_MS);
  };
  timer = setTimeout(loop, POLL_MS);
  return () => { stopped = true; clearTimeout(timer); };
}

// ---- list -------------------------------------------------------------------------------

async function renderList(view) {
  const message = h('div', {});
  const holder = h('div', {});
  const reload = async () => {
    const page = await get('/api/v1/batch-jobs?limit=100');
    replace(holder, table([
      { label: 'Name', cell: (job) => h('a', { href: `#/batches/${job.id}` }, job.name ?? job.id) },
      { label: 'Status', cell: (job) => statusBadge(job.status) },
      { label: 'Progress', cell: progress },
      { label: 'Runs/s', num: true, cell: (job) => ratio(job.runs_per_second, 1) },
      { label: 'ETA', num: true, cell: (job) => (ACTIVE.has(job.status) ? duration(job.eta_seconds) : '—') },
      { label: 'Created', cell: (job) => timestamp(job.created_at) },
      { label: '', cell: (job) => cancelButton(job, reload, message) },
    ], page.items, 'No batches yet.'));
    return page.items.some((job) => ACTIVE.has(job.status));
  };
  replace(view,
    h('div', { class: 'spread' }, heading('Batches'), h('a', { class: 'button primary', href: '#/batches/new' }, 'New batch')),
    message, holder);
  await reload();
  return poll(reload);
}

// ---- new batch --------------------------------------------------------------------------

async function renderNew(view, params) {
  const [strategies, lists] = await Promise.all([
    get('/api/v1/strategies?limit=1000&archived=all'),
    get('/api/v1/variable-lists?limit=1000'),
  ]);
  const PASTE = 'paste';
  const source = select([...strategies.items.map((st) => [String(st.id), st.name]), [PASTE, '— paste a strategy document —']],
    params.get('strategy') ?? (strategies.items[0] ? String(strategies.items[0].id) : PASTE));
  const documentText = h('textarea', { class: 'code', rows: 10, spellcheck: 'false' });
  const documentField = field('Strategy document (JSON)', documentText);
  const found = h('p', { class: 'small muted', 'aria-live': 'polite' });
  const name = h('input', { type: 'text', placeholder: 'optional' });
  const variables = h('textarea', { class: 'code', rows: 8, spellcheck: 'false' });
  variables.value = '[\n  {"name": "n", "values": ["50", "100", "200"]}\n]';
  const listBoxes = lists.items.map((list) => ({ list, input: h('input', { type: 'checkbox', value: list.name }) }));
  const start = h('input', { type: 'date' });
  const end = h('input', { type: 'date' });
  const benchmark = h('input', { type: 'text', size: 8, placeholder: 'SPY' });
  const cost = h('input', { type: 'number', min: 0, step: 0.5, size: 6, placeholder: '0' });
  const message = h('div', {});
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Start batch');

  // Shows which $variables the chosen strategy uses, so the trader knows what to define.
  const showVariables = async () => {
    documentField.hidden = source.value !== PASTE;
    let text = documentText.value;
    if (source.value !== PASTE) {
      try { text = JSON.stringify((await get(`/api/v1/strategies/${source.value}`)).elements); } catch { text = ''; }
    }
    const names = variablesIn(text);
    found.textContent = names.length > 0
      ? `This strategy uses: ${names.map((n) => `$${n}`).join(', ')}`
      : 'This strategy has no $variables: every run would be the same.';
  };
  source.addEventListener('change', showVariables);
  documentText.addEventListener('change', showVariables);

  const form = h('form', { class: 'panel' },
    h('div', { class: 'row' }, h('div', { class: 'grow' }, field('Strategy', source)), field('Batch name', name)),
    documentField,
    found,
    field('Variables (JSON)', variables, 'a list of {"name", "values"} or {"name", "list": "saved list"}; [] when only saved lists are used'),
    lists.items.length > 0
      ? h('fieldset', { class: 'saved-lists' }, h('legend', {}, 'Saved variable lists (a list is used for the variable of its name)'),
          listBoxes.map(({ list, input }) => checkbox(`${list.name} (${list.type}, ${list.count} values)`, input)))
      : h('p', { class: 'small muted' }, 'No saved variable lists yet (see Variable lists).'),
    h('div', { class: 'row' },
      field('Start', start), field('End', end), field('Benchmark', benchmark), field('Costs (bps)', cost)),
    message,
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await busy(submit, 'Starting…', async () => {
      try {
        const body = { variables: readJson(variables.value || '[]', 'Variables') };
        if (!Array.isArray(body.variables)) throw new Error('Variables must be a JSON array');
        for (const { input } of listBoxes) if (input.checked) body.variables.push(input.value);
        if (source.value === PASTE) body.strategy = readJson(documentText.value, 'The strategy document');
        else body.strategy_id = Number(source.value);
        if (name.value.trim()) body.name = name.value.trim();
        if (start.value) body.start_date = start.value;
        if (end.value) body.end_date = end.value;
        if (benchmark.value.trim()) body.benchmark_symbol = benchmark.value.trim().toUpperCase();
        if (cost.value !== '') body.cost_bps = Number(cost.value);
        const job = await post('/api/v1/batch-jobs', body);
        location.hash = `#/batches/${job.id}`;
      } catch (error) {
        replace(message, errorBox(error, 'The batch was not started'));
      }
    });
  });
  replace(view, heading('New batch'), form);
  await showVariables();
}

// ---- one job ----------------------------------------------------------------------------

async function renderJob(view, id) {
  const base = `/api/v1/batch-jobs/${encodeURIComponent(id)}`;
  let job = await get(base);
  const status = h('div', { class: 'panel job-status', 'aria-live': 'polite' });
  const message = h('div', {});
  const runsHolder = h('section', { id: 'batch-runs' });
  const heatHolder = h('section', { id: 'batch-heatmap' });
  const state = { sort: 'run_index', where: '', offset: 0 };

  const showStatus = () => {
    replace(status,
      h('div', { class: 'spread' },
        h('div', {}, statusBadge(job.status), ' ', progress(job)),
        h('div', { class: 'actions' },
          cancelButton(job, refresh, message),
          h('button', { type: 'button', onclick: async () => {
            try { await download(`${base}/runs.csv`, `${job.id}.csv`); }
            catch (error) { replace(message, errorBox(error, 'Download failed')); }
          } }, 'Download CSV'))),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Runs per second'), h('dd', {}, ratio(job.runs_per_second, 1)),
        h('dt', {}, 'Time left'), h('dd', {}, ACTIVE.has(job.status) ? duration(job.eta_seconds) : '—'),
        h('dt', {}, 'Variables'), h('dd', {}, (job.variables ?? []).map((v) => `$${v.name} × ${v.count}`).join(', ')),
        h('dt', {}, 'Created'), h('dd', {}, timestamp(job.created_at)),
        job.completed_at ? [h('dt', {}, 'Finished'), h('dd', {}, timestamp(job.completed_at))] : null),
      job.truncated ? h('div', { class: 'notice warning' }, h('p', {}, 'The combinations were capped: not every one was run.')) : null,
      job.error ? errorBox({ message: job.error.message ?? String(job.error), details: job.error.details }, 'The batch failed') : null,
      job.summary ? summaryView(job.summary) : null);
  };

  const loadRuns = async () => {
    let page;
    try {
      page = await get(`${base}/runs${query({ sort: state.sort, where: state.where, limit: PAGE_SIZE, offset: state.offset })}`);
    } catch (error) {
      replace(runsHolder, runsToolbar(), errorBox(error, 'Runs could not be listed'));
      return;
    }
    replace(runsHolder, runsToolbar(), runsTable(job, page, state, loadRuns), pager(page));
  };
  const runsToolbar = () => {
    const where = h('input', { type: 'text', value: state.where, placeholder: 'sharpe>0.8,max_drawdown>-0.3', size: 36 });
    const form = h('form', { class: 'row', role: 'search' },
      h('div', { class: 'grow' }, field('Filter (where)', where, 'METRIC OP NUMBER, comma-separated; returns as fractions (0.2 = 20%)')),
      h('div', { class: 'field' }, h('button', { type: 'submit' }, 'Apply')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      state.where = where.value.trim();
      state.offset = 0;
      loadRuns();
    });
    return [h('h2', {}, 'Runs'), form];
  };
  const pager = (page) => {
    if (page.total <= PAGE_SIZE) return h('p', { class: 'muted small' }, `${page.total} run(s)`);
    const go = (offset) => { state.offset = offset; loadRuns(); };
    return h('div', { class: 'actions' },
      h('button', { type: 'button', disabled: state.offset === 0, onclick: () => go(Math.max(0, state.offset - PAGE_SIZE)) }, 'Previous'),
      h('span', { class: 'muted small' }, `${state.offset + 1}–${Math.min(page.total, state.offset + PAGE_SIZE)} of ${page.total}`),
      h('button', { type: 'button', disabled: state.offset + PAGE_SIZE >= page.total, onclick: () => go(state.offset + PAGE_SIZE) }, 'Next'));
  };

  const refresh = async () => {
    job = await get(base);
    showStatus();
    await loadRuns();
    if (!ACTIVE.has(job.status)) replace(heatHolder, heatmapPanel(job, base));
    return ACTIVE.has(job.status);
  };

  replace(view, heading(job.name ?? job.id), h('p', { class: 'muted small' }, job.id), message, status, runsHolder, heatHolder);
  await refresh();
  return ACTIVE.has(job.status) ? poll(refresh) : undefined;
}

function summaryView(summary) {
  const line = (label, run) => (run ? h('li', {}, `${label}: run ${run.run_index} (`,
    Object.entries(run.variables ?? {}).map(([k, v]) => `$${k}=${v}`).join(', '),
    `) — return ${metric('total_return', run.metrics?.total_return)}, Sharpe ${metric('sharpe', run.metrics?.sharpe)}`) : null);
  return h('div', { class: 'summary' },
    h('h3', {}, 'Summary'),
    h('ul', {},
      h('li', {}, `${integer(summary.succeeded)} runs succeeded, ${integer(summary.failed)} failed`),
      h('li', {}, `Median return ${metric('total_return', summary.median_return)}, average ${metric('total_return', summary.avg_return)}`),
      line('Best', summary.best),
      line('Worst', summary.worst)));
}

// The runs of one page; clicking a metric header sorts by it on the server (again: reverse).
function runsTable(job, page, state, reload) {
  const variableNames = (job.variables ?? []).map((v) => v.name);
  const shown = ['total_return', 'cagr', 'sharpe', 'sortino', 'max_drawdown', 'volatility', 'calmar', 'trades'];
  const sortHeader = (key, label) => {
    const active = state.sort.replace(/^-/, '') === key;
    const descending = state.sort.startsWith('-');
    return h('th', { scope: 'col', class: key === 'run_index' ? null : 'num', 'aria-sort': active ? (descending ? 'descending' : 'ascending') : null },
      h('button', { type: 'button', class: 'sort', onclick: () => {
        state.sort = active && descending ? key : active ? `-${key}` : key === 'run_index' ? key : `-${key}`;
        state.offset = 0;
        reload();
      } }, label, active ? (descending ? ' ▼' : ' ▲') : ''));
  };
  if (page.items.length === 0) return h('p', { class: 'empty' }, job.completed > 0 ? 'No run matches the filter.' : 'No runs yet.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'runs' },
    h('thead', {}, h('tr', {},
      sortHeader('run_index', '#'),
      variableNames.map((name) => h('th', { scope: 'col' }, `$${name}`)),
      shown.map((key) => sortHeader(key, metricLabel(key))),
      h('th', { scope: 'col' }, 'Error'))),
    h('tbody', {}, page.items.map((run) => h('tr', {},
      h('td', {}, String(run.run_index)),
      variableNames.map((name) => h('td', {}, run.variables?.[name] ?? '—')),
      shown.map((key) => {
        const text = metric(key, run.metrics?.[key]);
        return h('td', { class: ['num', text.startsWith('−') ? 'neg' : null] }, text);
      }),
      h('td', { class: 'small' }, run.error ?? ''))))));
}

// Two variables and a metric -> GET …/heatmap -> a colored grid.
function heatmapPanel(job, base) {
  const names = (job.variables ?? []).map((v) => v.name);
  if (names.length < 2) return h('p', { class: 'muted small' }, 'A heatmap needs two variables.');
  const byCount = [...job.variables].sort((a, b) => b.count - a.count).map((v) => v.name);
  const x = select(names.map((n) => [n, `$${n}`]), byCount[0]);
  const y = select(names.map((n) => [n, `$${n}`]), byCount[1]);
  const chosen = select(METRICS.filter((m) => m.key !== 'trades').map((m) => [m.key, m.label]), 'sharpe');
  const holder = h('div', {});
  const draw = async () => {
    if (x.value === y.value) {
      replace(holder, h('p', { class: 'muted' }, 'Pick two different variables.'));
      return;
    }
    try {
      const map = await get(`${base}/heatmap${query({ x: x.value, y: y.value, metric: chosen.value })}`);
      replace(holder,
        map.aggregated_over?.length ? h('p', { class: 'muted small' }, `Mean over ${map.aggregated_over.map((n) => `$${n}`).join(', ')}`) : null,
        heatmap(map));
    } catch (error) {
      replace(holder, errorBox(error, 'The heatmap could not be drawn'));
    }
  };
  for (const control of [x, y, chosen]) control.addEventListener('change', draw);
  draw();
  return h('div', { class: 'panel' }, h('h2', {}, 'Heatmap'),
    h('div', { class: 'row' }, field('Across (x)', x), field('Down (y)', y), field('Metric', chosen)), holder);
}
