// chart.js — the UI's two pictures, drawn as plain SVG: an equity curve against its
// benchmark (log or linear scale, hover readout) and a heatmap of one metric over two variables.

import { h, s } from './dom.js';
import { DASH, metric, money } from './format.js';

const WIDTH = 960;
const HEIGHT = 380;
const PAD = { left: 70, right: 16, top: 14, bottom: 30 };
const MAX_POINTS = 1500; // per series: enough for a smooth line, small enough for a fast page

function dayNumber(date) {
  return Date.parse(`${date}T00:00:00Z`) / 86400000;
}

// Every k-th point (plus the last), so 8,000 days do not make an 8,000-segment path.
function thin(points) {
  if (points.length <= MAX_POINTS) return points;
  const step = Math.ceil(points.length / MAX_POINTS);
  const kept = points.filter((_, i) => i % step === 0);
  if (kept[kept.length - 1] !== points[points.length - 1]) kept.push(points[points.length - 1]);
  return kept;
}

// About `count` round numbers between lo and hi (1, 2, 5 × 10^n steps).
function niceTicks(lo, hi, count) {
  const raw = (hi - lo) / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(v);
  return ticks;
}

// Values for a log axis: 1-2-5 steps per decade, thinned to about `count`.
function logTicks(lo, hi, count) {
  const ticks = [];
  for (let decade = Math.floor(Math.log10(lo)); 10 ** decade <= hi; decade++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** decade;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  const every = Math.ceil(ticks.length / count);
  return ticks.filter((_, i) => i % every === 0);
}

function compactMoney(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(v));
}

// series: [{name, kind: 'strategy'|'benchmark', points: [{date, value}]}]. Returns a figure
// with the SVG, a legend, a log-scale switch and a readout that follows the pointer.
export function equityChart(series, { log = true } = {}) {
  const figure = h('figure', { class: 'equity', 'aria-label': 'Equity curve' });
  const usable = series.filter((one) => one.points && one.points.length > 1);
  if (usable.length === 0) {
    figure.append(h('p', { class: 'muted' }, 'No curve to draw.'));
    return figure;
  }
  const logSwitch = h('input', { type: 'checkbox', id: `log-${Math.random().toString(36).slice(2)}`, checked: log });
  const readout = h('div', { class: 'readout', 'aria-live': 'off' }, '\u00a0');
  const holder = h('div', {});
  const draw = () => holder.replaceChildren(drawEquity(usable, logSwitch.checked, readout));
  logSwitch.addEventListener('change', draw);
  draw();
  figure.append(
    h('div', { class: 'legend' },
      usable.map((one) => h('span', {}, h('span', { class: `swatch ${one.kind}` }), one.name)),
      h('label', { for: logSwitch.id, class: 'small' }, logSwitch, ' log scale')),
    holder,
    readout);
  return figure;
}

function drawEquity(series, useLog, readout) {
  const all = series.flatMap((one) => one.points);
  const x0 = Math.min(...series.map((one) => dayNumber(one.points[0].date)));
  const x1 = Math.max(...series.map((one) => dayNumber(one.points[one.points.length - 1].date)));
  const values = all.map((p) => p.value).filter((v) => Number.isFinite(v) && v > 0);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) { lo *= 0.9; hi *= 1.1; }
  const fy = useLog ? Math.log : (v) => v;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const xOf = (day) => PAD.left + ((day - x0) / Math.max(1, x1 - x0)) * plotW;
  const yOf = (v) => PAD.top + (1 - (fy(v) - fy(lo)) / (fy(hi) - fy(lo))) * plotH;

  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img',
    'aria-label': `Equity from ${series[0].points[0].date} to ${series[0].points[series[0].points.length - 1].date}` });

  const yTicks = useLog ? logTicks(lo, hi, 6) : niceTicks(lo, hi, 6);
  for (const v of yTicks) {
    const y = yOf(v).toFixed(1);
    svg.append(s('line', { class: 'grid', x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y }),
      s('text', { x: PAD.left - 8, y, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, compactMoney(v)));
  }
  const firstYear = new Date(x0 * 86400000).getUTCFullYear() + 1;
  const lastYear = new Date(x1 * 86400000).getUTCFullYear();
  const yearStep = Math.max(1, Math.ceil((lastYear - firstYear + 1) / 12));
  for (let year = firstYear; year <= lastYear; year += yearStep) {
    const x = xOf(dayNumber(`${year}-01-01`)).toFixed(1);
    svg.append(s('line', { class: 'grid', x1: x, x2: x, y1: PAD.top, y2: HEIGHT - PAD.bottom }),
      s('text', { x, y: HEIGHT - PAD.bottom + 18, 'text-anchor': 'middle' }, String(year)));
  }
  svg.append(s('line', { class: 'axis', x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: HEIGHT - PAD.bottom }),
    s('line', { class: 'axis', x1: PAD.left, x2: WIDTH - PAD.right, y1: HEIGHT - PAD.bottom, y2: HEIGHT - PAD.bottom }));

  for (const one of series) {
    const d = thin(one.points)
      .filter((p) => Number.isFinite(p.value) && p.value > 0)
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${xOf(dayNumber(p.date)).toFixed(1)},${yOf(p.value).toFixed(1)}`)
      .join('');
    svg.append(s('path', { class: `series ${one.kind}`, d, 'data-series': one.kind }, s('title', {}, one.name)));
  }

  const cursor = s('line', { class: 'cursor', y1: PAD.top, y2: HEIGHT - PAD.bottom, visibility: 'hidden' });
  svg.append(cursor);
  svg.addEventListener('pointermove', (event) => {
    const box = svg.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * WIDTH;
    const day = x0 + ((x - PAD.left) / plotW) * (x1 - x0);
    const parts = series.map((one) => {
      const point = nearest(one.points, day);
      return point ? `${one.name} ${money(point.value)}` : `${one.name} ${DASH}`;
    });
    const at = nearest(series[0].points, day);
    if (!at) return;
    cursor.setAttribute('x1', xOf(dayNumber(at.date)).toFixed(1));
    cursor.setAttribute('x2', xOf(dayNumber(at.date)).toFixed(1));
    cursor.setAttribute('visibility', 'visible');
    readout.textContent = `${at.date} · ${parts.join(' · ')}`;
  });
  svg.addEventListener('pointerleave', () => {
    cursor.setAttribute('visibility', 'hidden');
    readout.textContent = '\u00a0';
  });
  return svg;
}

// The point whose date is closest to `day` (points sorted by date).
function nearest(points, day) {
  let lo = 0;
  let hi = points.length - 1;
  if (hi < 0) return null;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (dayNumber(points[mid].date) < day) lo = mid + 1; else hi = mid;
  }
  return points[lo];
}

// Red (worst) through pale yellow to green (best): readable with dark text in every cell.
function heatColor(t) {
  const hue = 10 + t * 110;
  return `hsl(${hue.toFixed(0)}, 65%, ${(78 - Math.abs(t - 0.5) * 16).toFixed(0)}%)`;
}

// map: the API's heatmap answer {metric, x: {name, values}, y: {name, values}, values[y][x],
// counts[y][x]}. Cells without runs stay grey.
export function heatmap(map) {
  const xs = map.x.values;
  const ys = map.y.values;
  const cell = Math.max(30, Math.min(96, Math.floor(900 / Math.max(1, xs.length))));
  const cellH = Math.max(24, Math.min(44, cell));
  const left = 90;
  const top = 36;
  const width = left + xs.length * cell + 10;
  const height = top + ys.length * cellH + 10;
  const numbers = map.values.flat().filter((v) => typeof v === 'number' && Number.isFinite(v));
  const lo = Math.min(...numbers);
  const hi = Math.max(...numbers);
  // Drawn at its natural size (never stretched: a 2×3 grid must not fill the screen).
  const svg = s('svg', { class: 'chart heatmap', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': `${map.metric} by ${map.x.name} and ${map.y.name}` });
  svg.append(s('text', { class: 'label', x: left, y: 12 }, `${map.x.name} →`),
    s('text', { class: 'label', x: 4, y: top - 6 }, `${map.y.name} ↓`));
  xs.forEach((value, i) => svg.append(
    s('text', { class: 'label', x: left + i * cell + cell / 2, y: top - 6, 'text-anchor': 'middle' }, value)));
  ys.forEach((yValue, j) => {
    svg.append(s('text', { class: 'label', x: left - 6, y: top + j * cellH + cellH / 2, 'text-anchor': 'end',
      'dominant-baseline': 'middle' }, yValue));
    xs.forEach((xValue, i) => {
      const v = map.values[j]?.[i];
      const has = typeof v === 'number' && Number.isFinite(v);
      const t = has && hi > lo ? (v - lo) / (hi - lo) : 0.5;
      const count = map.counts?.[j]?.[i] ?? 0;
      const x = left + i * cell;
      const y = top + j * cellH;
      svg.append(s('g', { class: 'heat-cell' },
        s('rect', { x, y, width: cell - 1, height: cellH - 1, fill: has ? heatColor(t) : '#e5e7eb' }),
        cell >= 40 ? s('text', { class: 'cell', x: x + cell / 2, y: y + cellH / 2 }, has ? metric(map.metric, v) : DASH) : null,
        s('title', {}, `${map.x.name}=${xValue}, ${map.y.name}=${yValue}: ${has ? metric(map.metric, v) : DASH} (${count} run${count === 1 ? '' : 's'})`)));
    });
  });
  return svg;
}
