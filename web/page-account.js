// page-account.js — the caller's account: profile (username), API tokens (created with the
// secret shown this once, revoked at once) and Alpaca credentials for paper and live trading
// (only the key id's last 4 characters and the verification verdict ever come back).

import { del, get, patch, post, put } from './api.js';
import { busy, errorBox, field, h, heading, replace, table } from './dom.js';
import { timestamp } from './format.js';

export async function render(view) {
  const profile = h('section', {});
  const tokens = h('section', {});
  const credentials = h('section', {});
  replace(view, heading('Account'), profile, tokens, credentials);
  await Promise.all([showProfile(profile), showTokens(tokens), showCredentials(credentials)]);
}

async function showProfile(holder) {
  const me = await get('/api/v1/me');
  const username = h('input', { type: 'text', value: me.username ?? '', maxlength: 64, required: true });
  const message = h('div', {});
  const save = h('button', { type: 'submit' }, 'Save');
  const form = h('form', { class: 'row' }, h('div', { class: 'grow' }, field('Username', username)), h('div', { class: 'field' }, save));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await busy(save, 'Saving…', async () => {
      try {
        const updated = await patch('/api/v1/me', { username: username.value.trim() });
        document.getElementById('who-name').textContent = updated.username;
        replace(message, h('div', { class: 'notice success', role: 'status' }, h('p', {}, 'Saved.')));
      } catch (error) {
        replace(message, errorBox(error, 'Not saved'));
      }
    });
  });
  replace(holder, h('div', { class: 'panel' },
    h('h2', {}, 'Profile'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'User id'), h('dd', {}, String(me.id)),
      h('dt', {}, 'Discord'), h('dd', {}, me.discord_id?.startsWith('local:') ? 'local user (no Discord account)' : me.discord_id ?? '—'),
      h('dt', {}, 'E-mail'), h('dd', {}, me.email ?? '—'),
      h('dt', {}, 'Member since'), h('dd', {}, timestamp(me.created_at))),
    form, message));
}

async function showTokens(holder) {
  const page = await get('/api/v1/api-tokens?limit=1000');
  const message = h('div', { 'aria-live': 'polite' });
  const name = h('input', { type: 'text', required: true, placeholder: 'laptop script' });
  const days = h('input', { type: 'number', min: 1, step: 1, placeholder: 'never', size: 6 });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create token');
  const form = h('form', { class: 'row' },
    h('div', { class: 'grow' }, field('Name', name)), field('Expires in (days)', days), h('div', { class: 'field' }, create));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await busy(create, 'Creating…', async () => {
      try {
        const body = { name: name.value.trim() };
        if (days.value) body.expires_in_days = Number(days.value);
        const created = await post('/api/v1/api-tokens', body);
        await showTokens(holder);
        holder.querySelector('.token-message').replaceChildren(
          h('div', { class: 'notice success', role: 'status' },
            h('p', {}, `Token "${created.name}" created. Copy it now: it is shown only this once.`),
            h('p', { class: 'secret', id: 'new-token' }, created.token)));
      } catch (error) {
        replace(message, errorBox(error, 'Not created'));
      }
    });
  });
  replace(holder, h('div', { class: 'panel' },
    h('h2', {}, 'API tokens'),
    h('p', { class: 'muted small' }, 'For scripts and the command line: send "Authorization: Bearer TOKEN".'),
    h('div', { class: 'token-message' }, message),
    table([
      { label: 'Name', cell: (t) => t.name },
      { label: 'Starts with', cell: (t) => h('code', {}, `${t.token_prefix}…`) },
      { label: 'Created', cell: (t) => timestamp(t.created_at) },
      { label: 'Last used', cell: (t) => timestamp(t.last_used_at) },
      { label: 'Expires', cell: (t) => (t.expires_at ? timestamp(t.expires_at) : 'never') },
      { label: '', cell: (t) => h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!confirm(`Revoke "${t.name}"? Anything using it stops working at once.`)) return;
          try { await del(`/api/v1/api-tokens/${t.id}`); await showTokens(holder); }
          catch (error) { replace(message, errorBox(error, 'Not revoked')); }
        } }, 'Revoke') },
    ], page.items, 'No tokens.'),
    h('h3', {}, 'New token'),
    form));
}

async function showCredentials(holder) {
  const saved = new Map((await get('/api/v1/me/alpaca-credentials')).items.map((c) => [c.mode, c]));
  replace(holder, h('div', { class: 'panel' },
    h('h2', {}, 'Alpaca credentials'),
    h('p', { class: 'muted small' }, 'Stored encrypted; checked against Alpaca when saved. Lever never shows a key or secret again.'),
    ['paper', 'live'].map((mode) => credentialForm(mode, saved.get(mode), () => showCredentials(holder)))));
}

function credentialForm(mode, current, reload) {
  const keyId = h('input', { type: 'text', autocomplete: 'off', required: true });
  const secret = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const message = h('div', {});
  const save = h('button', { type: 'submit' }, current ? 'Replace' : 'Save');
  const form = h('form', { class: 'row' },
    field('Key id', keyId), field('Secret', secret), h('div', { class: 'field' }, save));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await busy(save, 'Checking…', async () => {
      try {
        await put(`/api/v1/me/alpaca-credentials/${mode}`, { key_id: keyId.value.trim(), secret: secret.value });
        await reload();
      } catch (error) {
        replace(message, errorBox(error, 'Not saved'));
      }
    });
  });
  const state = current
    ? h('p', {}, `Key ending in `, h('code', {}, current.key_id_last4), `, saved ${timestamp(current.saved_at)} · `,
        h('span', { class: `badge ${current.verified ? 'verified' : 'unverified'}` }, current.verified ? 'verified' : 'not verified'),
        current.verification_error ? h('span', { class: 'small muted' }, ` ${current.verification_error}`) : null,
        ' ',
        h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!confirm(`Forget the ${mode} credentials?`)) return;
          try { await del(`/api/v1/me/alpaca-credentials/${mode}`); await reload(); }
          catch (error) { replace(message, errorBox(error, 'Not removed')); }
        } }, 'Forget'))
    : h('p', { class: 'muted' }, 'None saved.');
  return h('div', { class: `credentials ${mode}` }, h('h3', {}, mode === 'paper' ? 'Paper trading' : 'Live trading'), state, form, message);
}
