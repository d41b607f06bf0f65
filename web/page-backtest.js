// page-backtest.js — one backtest: pick a saved strategy or paste a document, set the
// window, benchmark, rebalancing and costs, run; then the metrics against the benchmark, the
// equity curve, the window and why it starts there, warnings, and the history of past runs.

import { get, post, query } from './api.js';
import { busy, errorBox, field, h, heading, readJson, replace, select, table, warningBox } from './dom.js';
import { equityChart } from './chart.js';
import { METRICS, metric, ratio, timestamp } from './format.js';

const PASTE = 'paste';

export async function render(view, { path, params }) {
  const strategies = (await get('/api/v1/strategies?limit=1000&archived=all')).items;
  const names = new Map(strategies.map((st) => [st.id, st.name]));
  const chosen = params.get('strategy') ?? (strategies[0] ? String(strategies[0].id) : PASTE);

  const source = select([...strategies.map((st) => [String(st.id), st.name]), [PASTE, '— paste a strategy document —']], chosen);
  const documentText = h('textarea', { class: 'code', rows: 12, spellcheck: 'false', placeholder: '{"elements": [ … ]}' });
  const documentField = field('Strategy document (JSON)', documentText, 'a document or a bare elements array');
  const start = h('input', { type: 'date' });
  const end = h('input', { type: 'date' });
  const benchmark = h('input', { type: 'text', size: 8, placeholder: 'SPY' });
  const rebalance = select([['', "strategy's own"], ['daily', 'daily'], ['weekly', 'weekly'], ['monthly', 'monthly'],
    ['quarterly', 'quarterly'], ['yearly', 'yearly'], ['threshold', 'on drift above…']], '');
  const threshold = h('input', { type: 'number', min: 0.1, max: 100, step: 0.1, value: 5, size: 5 });
  const thresholdField = field('Drift (%)', threshold);
  const cost = h('input', { type: 'number', min: 0, step: 0.5, placeholder: '0', size: 6 });
  const capital = h('input', { type: 'number', min: 1, step: 1000, placeholder: '100000' });
  const run = h('button', { type: 'submit', class: 'primary' }, 'Run backtest');
  const result = h('section', { id: 'backtest-result', 'aria-live': 'polite' });
  const history = h('section', { id: 'backtest-history' });

  const syncVisibility = () => {
    documentField.hidden = source.value !== PASTE;
    thresholdField.hidden = rebalance.value !== 'threshold';
  };
  source.addEventListener('change', syncVisibility);
  rebalance.addEventListener('change', syncVisibility);
  syncVisibility();

  const request = () => {
    const body = {};
    if (source.value === PASTE) body.strategy = readJson(documentText.value, 'The strategy document');
    else body.strategy_id = Number(source.value);
    if (start.value) body.start_date = start.value;
    if (end.value) body.end_date = end.value;
    if (benchmark.value.trim()) body.benchmark_symbol = benchmark.value.trim().toUpperCase();
    if (rebalance.value === 'threshold') body.rebalance = { threshold: Number(threshold.value) / 100 };
    else if (rebalance.value) body.rebalance = rebalance.value;
    if (cost.value !== '') body.cost_bps = Number(cost.value);
    if (capital.value !== '') body.initial_capital = Number(capital.value);
    return body;
  };

  const loadHistory = async () => {
    const page = await get(`/api/v1/backtests${query({ limit: 20 })}`);
    replace(history, h('h2', {}, 'History'), historyTable(page.items, names, openStored));
  };
  const openStored = async (id) => {
    try {
      const stored = await get(`/api/v1/backtests/${id}`);
      replace(result, resultView(stored, names));
      result.scrollIntoView({ block: 'start' });
    } catch (error) {
      replace(result, errorBox(error, `Backtest ${id} could not be loaded`));
    }
  };

  const form = h('form', { class: 'panel', 'aria-label': 'Backtest options' },
    h('div', { class: 'row' }, h('div', { class: 'grow' }, field('Strategy', source))),
    documentField,
    h('div', { class: 'row' },
      field('Start', start, 'empty: as early as the data allows'),
      field('End', end, 'empty: the last bar'),
      field('Benchmark', benchmark),
      field('Rebalance', rebalance),
      thresholdField,
      field('Costs (bps per trade)', cost),
      field('Initial capital', capital)),
    h('div', { class: 'actions' }, run));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await busy(run, 'Running…', async () => {
      try {
        const answer = await post('/api/v1/backtests', request());
        const chosenStrategy = strategies.find((st) => String(st.id) === source.value);
        answer.benchmark_symbol ??= request().benchmark_symbol ?? chosenStrategy?.benchmark_symbol ?? 'SPY';
        replace(result, resultView(answer, names));
        await loadHistory();
      } catch (error) {
        replace(result, errorBox(error, 'The backtest did not run'));
      }
    });
  });

  replace(view, heading('Backtest'), form, result, history);
  await loadHistory();
  if (path[0] === 'backtests' && path[1]) await openStored(path[1]);
}

function years(window) {
  const days = (Date.parse(window.end) - Date.parse(window.start)) / 86400000;
  return Number.isFinite(days) ? `${(days / 365.25).toFixed(1)} years` : '';
}

// One result (fresh or stored): window, warnings, chart, metrics table.
function resultView(bt, names) {
  const benchmarkName = bt.benchmark_symbol ? `Benchmark (${bt.benchmark_symbol})` : 'Benchmark';
  const strategyName = bt.strategy_id ? names.get(bt.strategy_id) ?? `strategy ${bt.strategy_id}` : 'pasted strategy';
  const window = bt.window ?? {};
  return h('div', { class: 'panel result' },
    h('h2', {}, `Backtest ${bt.id ?? ''} · ${strategyName}`),
    h('p', { class: 'window' },
      h('strong', {}, `${window.start ?? '?'} → ${window.end ?? '?'}`), ` (${years(window)})`,
      window.start_reason ? h('span', { class: 'muted' }, ` · starts then because ${window.start_reason}`) : null),
    warningBox(bt.warnings),
    equityChart([
      { name: strategyName, kind: 'strategy', points: bt.equity_curve ?? [] },
      { name: benchmarkName, kind: 'benchmark', points: bt.benchmark_curve ?? [] },
    ]),
    h('h3', {}, 'Metrics'),
    table([
      { label: 'Metric', cell: (m) => m.label },
      { label: 'Strategy', num: true, cell: (m) => metric(m.key, bt.metrics?.[m.key]) },
      { label: benchmarkName, num: true, cell: (m) => metric(m.key, bt.benchmark_metrics?.[m.key]) },
    ], METRICS),
    bt.timing ? h('p', { class: 'muted small' },
      `Computed in ${ratio(bt.timing.total_ms, 1)} ms (loading bars ${ratio(bt.timing.load_ms, 1)} ms, simulation ${ratio(bt.timing.simulate_ms, 1)} ms)`) : null,
    bt.created_at ? h('p', { class: 'muted small' }, `Stored ${timestamp(bt.created_at)}`) : null);
}

function historyTable(items, names, open) {
  return table([
    { label: '#', cell: (bt) => h('button', { type: 'button', class: 'link-button', onclick: () => open(bt.id) }, String(bt.id)) },
    { label: 'When', cell: (bt) => timestamp(bt.created_at) },
    { label: 'Strategy', cell: (bt) => (bt.strategy_id ? names.get(bt.strategy_id) ?? `#${bt.strategy_id}` : 'pasted') },
    { label: 'Window', cell: (bt) => `${bt.start_date ?? '?'} → ${bt.end_date ?? '?'}` },
    { label: 'Total return', num: true, cell: (bt) => metric('total_return', bt.metrics?.total_return) },
    { label: 'CAGR', num: true, cell: (bt) => metric('cagr', bt.metrics?.cagr) },
    { label: 'Sharpe', num: true, cell: (bt) => metric('sharpe', bt.metrics?.sharpe) },
    { label: 'Max drawdown', num: true, cell: (bt) => metric('max_drawdown', bt.metrics?.max_drawdown) },
  ], items, 'No backtests yet.');
}
