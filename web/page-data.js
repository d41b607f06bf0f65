// page-data.js — which market data Lever holds: each symbol's first and last day, bar count
// and sources; synthetic sample data is flagged so nobody mistakes it for real prices.

import { get } from './api.js';
import { h, heading, replace, table } from './dom.js';
import { integer } from './format.js';

export async function render(view) {
  const coverage = (await get('/api/v1/bars')).items;
  const synthetic = coverage.filter((row) => row.synthetic);
  replace(view,
    heading('Market data'),
    synthetic.length > 0
      ? h('div', { class: 'notice warning strong', role: 'alert' },
          h('p', {}, `${synthetic.length} symbol(s) hold synthetic sample data, not real prices: ${synthetic.map((row) => row.symbol).join(', ')}. Import real bars with "lever bars import".`))
      : null,
    h('p', { class: 'muted' }, `${coverage.length} symbol(s). Add more with `, h('code', {}, 'lever bars import DIR'), '.'),
    table([
      { label: 'Symbol', cell: (row) => h('strong', {}, row.symbol) },
      { label: 'First day', cell: (row) => row.first_day },
      { label: 'Last day', cell: (row) => row.last_day },
      { label: 'Bars', num: true, cell: (row) => integer(row.bars) },
      { label: 'Sources', cell: (row) => [row.sources, row.synthetic ? [' ', h('span', { class: 'badge synthetic' }, 'synthetic')] : null] },
    ], coverage, 'No bars yet: run "lever bars import" or "lever bars synth".'));
}
