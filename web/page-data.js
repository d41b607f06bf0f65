// page-data.js — which market data Lever holds: each symbol's first and last day, bar count
// and sources (synthetic sample data flagged), and the two ways to add real bars: a CSV file,
// or a sync from Alpaca with the caller's stored keys.

import { get, post, postCsv, query } from './api.js';
import { busy, errorBox, field, h, heading, notice, replace, select, table } from './dom.js';
import { integer } from './format.js';

function coverageView(coverage) {
  const synthetic = coverage.filter((row) => row.synthetic);
  return [
    synthetic.length > 0
      ? h('div', { class: 'notice warning strong', role: 'alert' },
          h('p', {}, `${synthetic.length} symbol(s) hold synthetic sample data, not real prices: ${synthetic.map((row) => row.symbol).join(', ')}. Import real bars below or with "lever bars import".`))
      : null,
    h('p', { class: 'muted' }, `${coverage.length} symbol(s).`),
    table([
      { label: 'Symbol', cell: (row) => h('strong', {}, row.symbol) },
      { label: 'First day', cell: (row) => row.first_day },
      { label: 'Last day', cell: (row) => row.last_day },
      { label: 'Bars', num: true, cell: (row) => integer(row.bars) },
      { label: 'Sources', cell: (row) => [row.sources, row.synthetic ? [' ', h('span', { class: 'badge synthetic' }, 'synthetic')] : null] },
    ], coverage, 'No bars yet: import a CSV file below, or run "lever bars synth".'),
  ];
}

function written(answer) {
  return notice('success', `Stored ${integer(answer.bars)} bars of ${answer.items.map((i) => i.symbol).join(', ')} (source ${answer.source}; ${integer(answer.replaced)} replaced).`);
}

// A CSV file (date,open,high,low,close,volume, optionally symbol); the file name gives the
// symbol when the file has no symbol column, as with `lever bars import`.
function importForm(reload) {
  const file = h('input', { type: 'file', accept: '.csv,text/csv', required: true });
  const symbol = h('input', { type: 'text', placeholder: 'from the file name', size: 10 });
  const result = h('div', {});
  const send = h('button', { type: 'submit', class: 'primary' }, 'Import');
  const form = h('form', { class: 'panel' },
    h('h2', {}, 'Import a CSV file'),
    h('div', { class: 'row' }, field('File', file, 'date,open,high,low,close,volume'), field('Symbol', symbol, 'when the file has no symbol column')),
    result, h('div', { class: 'actions' }, send));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    const name = symbol.value.trim() || chosen.name.replace(/\.csv$/i, '');
    await busy(send, 'Importing…', async () => {
      try {
        const answer = await postCsv(`/api/v1/bars/import${query({ symbol: name })}`, await chosen.text());
        replace(result, written(answer));
        await reload();
      } catch (error) {
        replace(result, errorBox(error, 'Nothing imported'));
      }
    });
  });
  return form;
}

function syncForm(reload) {
  const symbols = h('input', { type: 'text', required: true, placeholder: 'SPY, QQQ, TLT' });
  const mode = select([['paper', 'paper keys'], ['live', 'live keys']], 'paper');
  const start = h('input', { type: 'date' });
  const result = h('div', {});
  const send = h('button', { type: 'submit', class: 'primary' }, 'Sync');
  const form = h('form', { class: 'panel' },
    h('h2', {}, 'Sync from Alpaca'),
    h('div', { class: 'row' }, field('Symbols', symbols, 'separated by commas or spaces'), field('Keys', mode, 'saved under Account'), field('Start', start, 'empty: all of Alpaca\'s history (replaces the symbol\'s rows)')),
    result, h('div', { class: 'actions' }, send));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { symbols: symbols.value.split(/[\s,;]+/).filter(Boolean), mode: mode.value };
    if (start.value) body.start = start.value;
    await busy(send, 'Syncing…', async () => {
      try {
        replace(result, written(await post('/api/v1/bars/sync', body)));
        await reload();
      } catch (error) {
        replace(result, errorBox(error, 'Nothing synced'));
      }
    });
  });
  return form;
}

export async function render(view) {
  const coverageHolder = h('div', {});
  const reload = async () => replace(coverageHolder, coverageView((await get('/api/v1/bars')).items));
  replace(view, heading('Market data'), coverageHolder, h('div', { class: 'columns' }, importForm(reload), syncForm(reload)));
  await reload();
}
