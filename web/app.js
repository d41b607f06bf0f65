// app.js — the UI's entry point: finds out who is signed in (API token in localStorage, or
// the Discord login cookie), shows the sign-in card otherwise, and routes #/… to the pages.

import { ApiError, forgetToken, get, post, storeToken, storedToken } from './api.js';
import { busy, errorBox, field, h, replace } from './dom.js';
import * as account from './page-account.js';
import * as backtest from './page-backtest.js';
import * as batches from './page-batches.js';
import * as data from './page-data.js';
import * as lists from './page-lists.js';
import * as strategies from './page-strategies.js';

// First path segment of the hash -> page module. Each module exports
// render(view, {path, params, me}) and may return a function that stops its timers.
const PAGES = { strategies, backtest, backtests: backtest, batches, lists, data, account };

const view = document.getElementById('view');
const top = document.getElementById('top');
let me = null;
let stopPage = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [pathText, queryText] = raw.split('?');
  const path = pathText.split('/').filter(Boolean).map(decodeURIComponent);
  return { path, params: new URLSearchParams(queryText ?? '') };
}

function markCurrentSection(section) {
  for (const link of top.querySelectorAll('nav a')) {
    if (link.dataset.section === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function route() {
  if (!me) return;
  if (stopPage) stopPage();
  stopPage = null;
  const { path, params } = parseHash();
  if (path.length === 0) {
    location.replace('#/strategies');
    return;
  }
  const page = PAGES[path[0]];
  const section = path[0] === 'backtests' ? 'backtest' : path[0];
  markCurrentSection(section);
  if (!page) {
    replace(view, h('h1', {}, 'Not found'), h('p', {}, 'No such page. ', h('a', { href: '#/strategies' }, 'Go to your strategies.')));
    return;
  }
  replace(view, h('p', { class: 'muted' }, 'Loading…'));
  try {
    const stop = await page.render(view, { path, params, me });
    if (typeof stop === 'function') stopPage = stop;
  } catch (error) {
    replace(view, errorBox(error, 'This page could not be loaded'));
  }
  view.querySelector('h1')?.focus();
}

function authErrorText(code) {
  const known = {
    access_denied: 'You cancelled the Discord login.',
    not_allowed: 'This Discord account is not allowed to use this Lever.',
    invalid_state: 'The login took too long or was started elsewhere; please try again.',
    email_required: 'Discord did not share an e-mail address, which this Lever requires.',
    email_unverified: 'Your Discord e-mail address is not verified.',
    discord_unavailable: 'Discord could not be reached; try again shortly.',
  };
  return known[code] ?? `The login failed (${code}).`;
}

function showSignIn(problem) {
  me = null;
  if (stopPage) stopPage();
  stopPage = null;
  top.hidden = true;
  const tokenInput = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, placeholder: 'lvr_…' });
  const message = h('div', {});
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in with token');
  const form = h('form', { class: 'token-form' },
    field('API token', tokenInput, 'make run saves one in ./var/token; Account → API tokens makes more.'),
    submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    storeToken(tokenInput.value.trim());
    await busy(submit, 'Signing in…', async () => {
      try {
        await start();
      } catch (error) {
        forgetToken();
        replace(message, errorBox(error, 'Sign-in failed'));
      }
    });
  });
  const authError = new URLSearchParams(location.search).get('auth_error');
  replace(view,
    h('section', { class: 'signin panel' },
      h('h1', { tabindex: '-1' }, 'Sign in to Lever'),
      authError ? h('div', { class: 'notice error', role: 'alert' }, h('p', {}, authErrorText(authError))) : null,
      problem ? errorBox(problem) : null,
      h('p', {}, h('a', { class: 'button primary', href: '/auth/discord' }, 'Sign in with Discord')),
      h('p', { class: 'or' }, 'or paste an API token'),
      form,
      message));
  tokenInput.focus();
}

// Asks the API who we are (Bearer token if one is stored, else the login cookie); throws
// when neither works.
async function start() {
  me = await get('/api/v1/me');
  top.hidden = false;
  document.getElementById('who-name').textContent = me.username ?? `user ${me.id}`;
  if (location.search.includes('auth_error')) history.replaceState(null, '', `/${location.hash}`);
  await route();
}

async function signOut() {
  const hadToken = storedToken() !== null;
  forgetToken();
  if (!hadToken) {
    try {
      await post('/auth/logout');
    } catch {
      // already logged out: nothing to undo
    }
  }
  showSignIn();
}

window.addEventListener('hashchange', route);
window.addEventListener('lever:unauthorized', () => {
  if (me) showSignIn(new ApiError(401, 'unauthorized', 'Your session ended; please sign in again.', []));
});
document.getElementById('sign-out').addEventListener('click', signOut);

start().catch((error) => {
  if (error.status === 401) forgetToken(); // a stale token: ask for a new one
  showSignIn(error.status === 401 ? null : error);
});
