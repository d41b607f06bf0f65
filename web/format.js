// format.js — how numbers and dates read in the UI: returns as percentages, ratios with two
// decimals, counts grouped, and "—" for anything missing (a null metric, a NaN).

export const DASH = '—';
const MINUS = '−';

function finite(x) {
  return typeof x === 'number' && Number.isFinite(x);
}

function signed(text) {
  return text.startsWith('-') ? MINUS + text.slice(1) : text;
}

export function percent(x, digits = 2) {
  return finite(x) ? signed(`${(x * 100).toFixed(digits)}%`) : DASH;
}

export function ratio(x, digits = 2) {
  return finite(x) ? signed(x.toFixed(digits)) : DASH;
}

export function integer(x) {
  return finite(x) ? signed(Math.round(x).toLocaleString('en-US')) : DASH;
}

export function money(x) {
  return finite(x) ? signed(x.toLocaleString('en-US', { maximumFractionDigits: 0 })) : DASH;
}

// "2026-11-23T15:35:11Z" -> "2026-11-23 15:35"; dates stay as they are.
export function timestamp(text) {
  if (!text) return DASH;
  return String(text).replace('T', ' ').replace(/(:\d\d)(\.\d+)?Z?$/, '$1').slice(0, 16);
}

export function duration(seconds) {
  if (!finite(seconds)) return DASH;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

// The metrics of a backtest, in the order they are shown, each with its formatter.
export const METRICS = [
  { key: 'total_return', label: 'Total return', format: percent },
  { key: 'cagr', label: 'CAGR', format: percent },
  { key: 'volatility', label: 'Volatility (annual)', format: percent },
  { key: 'sharpe', label: 'Sharpe', format: ratio },
  { key: 'sortino', label: 'Sortino', format: ratio },
  { key: 'max_drawdown', label: 'Max drawdown', format: percent },
  { key: 'max_drawdown_days', label: 'Max drawdown length (days)', format: integer },
  { key: 'calmar', label: 'Calmar', format: ratio },
  { key: 'win_rate', label: 'Winning days', format: (x) => percent(x, 1) },
  { key: 'best_day', label: 'Best day', format: percent },
  { key: 'worst_day', label: 'Worst day', format: percent },
  { key: 'beta', label: 'Beta', format: ratio },
  { key: 'alpha', label: 'Alpha (annual)', format: percent },
  { key: 'correlation', label: 'Correlation', format: ratio },
  { key: 'exposure', label: 'Exposure', format: (x) => percent(x, 1) },
  { key: 'turnover', label: 'Turnover (annual)', format: ratio },
  { key: 'trades', label: 'Trades', format: integer },
];

const BY_KEY = new Map(METRICS.map((m) => [m.key, m]));

export function metric(key, value) {
  const spec = BY_KEY.get(key);
  return spec ? spec.format(value) : ratio(value, 3);
}

export function metricLabel(key) {
  return BY_KEY.get(key)?.label ?? key;
}
