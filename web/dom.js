// dom.js — building the page without innerHTML (so no API text is ever parsed as HTML):
// h() for elements, s() for SVG, and the shared pieces every page shows (errors, warnings,
// labelled fields, tables).

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
}

function applyAttributes(el, attrs, isSvg) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (!isSvg && (name === 'value' || name === 'checked' || name === 'selected')) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

// h('button', {class: 'primary', onclick: fn}, 'Run') -> <button class="primary">Run</button>.
// Attributes set to null/undefined/false are left out; children may be nested arrays.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  applyAttributes(el, attrs, false);
  append(el, children);
  return el;
}

// The same for SVG elements.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttributes(el, attrs, true);
  append(el, children);
  return el;
}

export function replace(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

let nextId = 0;
export function uniqueId(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

// A labelled form field: field('Start date', h('input', {type: 'date'}), 'optional').
export function field(label, control, hint) {
  if (!control.id) control.id = uniqueId('f');
  return h('div', { class: 'field' },
    h('label', { for: control.id }, label),
    control,
    hint ? h('span', { class: 'hint' }, hint) : null);
}

export function checkbox(label, input) {
  if (!input.id) input.id = uniqueId('c');
  return h('div', { class: 'check' }, input, h('label', { for: input.id }, label));
}

export function select(options, value) {
  return h('select', {},
    options.map(([optionValue, text]) => h('option', { value: optionValue, selected: optionValue === value }, text)));
}

// An API error (or any Error) shown plainly: its message, then every detail with its path.
export function errorBox(error, intro) {
  const details = error?.details ?? [];
  return h('div', { class: 'notice error', role: 'alert' },
    h('p', {}, intro ? `${intro}: ` : '', error?.message ?? String(error)),
    details.length > 0
      ? h('ul', { class: 'problems' },
          details.map((d) => h('li', {}, d.path ? h('code', {}, d.path) : null, d.path ? ' ' : '', d.message)))
      : null);
}

// Warnings are strings or {path, message}; synthetic-data warnings come first and stand out.
export function warningBox(warnings) {
  const list = (warnings ?? []).map((w) => (typeof w === 'string' ? { message: w } : w));
  if (list.length === 0) return null;
  const synthetic = list.filter((w) => /synthetic/i.test(w.message ?? ''));
  const other = list.filter((w) => !/synthetic/i.test(w.message ?? ''));
  return h('div', { class: 'warnings' },
    synthetic.map((w) => h('div', { class: 'notice warning strong', role: 'alert' },
      h('p', {}, '⚠ ', w.message, ' — results on sample data say nothing about real markets.'))),
    other.length > 0
      ? h('div', { class: 'notice warning' },
          h('p', {}, other.length === 1 ? 'Warning' : `${other.length} warnings`),
          h('ul', {}, other.map((w) => h('li', {}, w.path ? h('code', {}, w.path) : null, w.path ? ' ' : '', w.message))))
      : null);
}

export function notice(kind, text) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('p', {}, text));
}

// A table from column specs {label, cell(row) -> node|text, class?, num?}.
export function table(columns, rows, emptyText) {
  if (rows.length === 0) return h('p', { class: 'empty' }, emptyText ?? 'Nothing yet.');
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
      h('tbody', {}, rows.map((row) => h('tr', {},
        columns.map((c) => {
          const value = c.cell(row);
          const negative = c.num && typeof value === 'string' && value.startsWith('−');
          return h('td', { class: [c.num ? 'num' : null, negative ? 'neg' : null, c.class] }, value);
        }))))));
}

// Runs `action` with the button disabled and a busy label, so a double click cannot send twice.
export async function busy(button, label, action) {
  const original = button.textContent;
  button.disabled = true;
  button.textContent = label;
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.textContent = original;
  }
}

export function heading(text) {
  return h('h1', { tabindex: '-1' }, text);
}

// Parses the JSON typed into a textarea. A syntax error becomes an Error whose details name
// the line and column, shown like the API's own problems.
export function readJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const at = /position (\d+)/.exec(cause.message);
    let where = '';
    if (at) {
      const before = text.slice(0, Number(at[1]));
      const line = before.split('\n').length;
      where = ` (line ${line}, column ${Number(at[1]) - before.lastIndexOf('\n')})`;
    }
    const error = new Error(`${what} is not valid JSON${where}`);
    error.details = [{ path: '', message: cause.message }];
    throw error;
  }
}

// The $variables a strategy document mentions, in order of first use.
export function variablesIn(text) {
  return [...new Set((text.match(/\$[A-Za-z_][A-Za-z0-9_]*/g) ?? []).map((v) => v.slice(1).toLowerCase()))];
}
