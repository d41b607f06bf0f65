// page-lists.js — saved variable lists (tickers, numbers or dates) that batches use by name:
// list, create, edit and delete; each bad value is named by the API with its index.

import { del, get, post, put } from './api.js';
import { busy, checkbox, errorBox, field, h, heading, replace, select, table } from './dom.js';
import { timestamp } from './format.js';

export async function render(view) {
  const message = h('div', {});
  const listHolder = h('div', {});
  const editor = h('div', {});

  const reload = async () => {
    const page = await get('/api/v1/variable-lists?limit=1000');
    replace(listHolder, table([
      { label: 'Name', cell: (list) => h('code', {}, list.name) },
      { label: 'Type', cell: (list) => list.type },
      { label: 'Values', cell: (list) => `${list.values.slice(0, 12).join(', ')}${list.count > 12 ? ` … (${list.count})` : ''}` },
      { label: 'Shared', cell: (list) => (list.is_shared ? 'yes' : 'no') },
      { label: 'Updated', cell: (list) => timestamp(list.updated_at) },
      { label: '', cell: (list) => h('div', { class: 'actions' },
          h('button', { type: 'button', onclick: () => showEditor(list) }, 'Edit'),
          h('button', { type: 'button', class: 'danger', onclick: async () => {
            if (!confirm(`Delete the list "${list.name}"?`)) return;
            try { await del(`/api/v1/variable-lists/${list.id}`); await reload(); }
            catch (error) { replace(message, errorBox(error, 'Delete failed')); }
          } }, 'Delete')) },
    ], page.items, 'No variable lists yet.'));
  };

  const showEditor = (list) => {
    const name = h('input', { type: 'text', value: list?.name ?? '', required: true, placeholder: 'risk_on' });
    const type = select([['ticker', 'tickers'], ['number', 'numbers'], ['date', 'dates']], list?.type ?? 'ticker');
    const values = h('textarea', { rows: 4, placeholder: 'SPY, QQQ, IWM' });
    values.value = (list?.values ?? []).join(', ');
    const description = h('input', { type: 'text', value: list?.description ?? '' });
    const shared = h('input', { type: 'checkbox', checked: list?.is_shared ?? false });
    const problems = h('div', {});
    const save = h('button', { type: 'submit', class: 'primary' }, list ? 'Save' : 'Create');
    const form = h('form', { class: 'panel' },
      h('h2', {}, list ? `Edit ${list.name}` : 'New variable list'),
      h('div', { class: 'row' }, field('Name', name, 'the variable it fills: $name'), field('Type', type)),
      field('Values', values, 'separated by commas, spaces or new lines'),
      field('Description', description),
      checkbox('Shared', shared),
      problems,
      h('div', { class: 'actions' }, save, h('button', { type: 'button', onclick: () => replace(editor) }, 'Close')));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = {
        name: name.value.trim(),
        type: type.value,
        values: values.value.split(/[\s,;]+/).filter(Boolean),
        description: description.value.trim() || null,
        is_shared: shared.checked,
      };
      await busy(save, 'Saving…', async () => {
        try {
          if (list) await put(`/api/v1/variable-lists/${list.id}`, body);
          else await post('/api/v1/variable-lists', body);
          replace(editor);
          await reload();
        } catch (error) {
          replace(problems, errorBox(error, 'Not saved'));
        }
      });
    });
    replace(editor, form);
    name.focus();
  };

  replace(view,
    h('div', { class: 'spread' }, heading('Variable lists'),
      h('button', { type: 'button', class: 'primary', onclick: () => showEditor(null) }, 'New list')),
    h('p', { class: 'muted' }, 'A batch can take a saved list for the variable of the same name, e.g. the list "risk" for $risk.'),
    editor, message, listHolder);
  await reload();
}
