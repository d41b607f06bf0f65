// lever.mjs — what the browser tests stand on: a real `lever serve` on a free loopback port
// (its address read from stderr), `lever` CLI calls (users, bar imports), and Debian's
// chromium driven by playwright-core with a fresh profile. Nothing is downloaded.
//
// Environment: LEVER_BIN (the binary), DATABASE_URL, LEVER_SHARED (test data), optional
// LEVER_SOURCE_ROOT (the repository; default two levels up from here) and CHROMIUM
// (default /usr/bin/chromium).

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const sourceRoot = process.env.LEVER_SOURCE_ROOT ?? resolve(here, '..', '..');
export const shared = process.env.LEVER_SHARED ?? resolve(sourceRoot, '..', 'shared');

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (scripts/run-ui-tests sets it)`);
  return value;
}

// Runs `lever ARGS…` and returns its stdout; throws with stderr when it fails.
export function lever(args) {
  return execFileSync(required('LEVER_BIN'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Creates a user with a unique name and returns its API token.
export function createUser(prefix) {
  const name = `${prefix}-${process.pid}-${Date.now()}`;
  const out = lever(['user', 'create', '--name', name]);
  const token = /^token: (\S+)$/m.exec(out)?.[1];
  if (!token) throw new Error(`no token in: ${out}`);
  return { name, token };
}

export function importEtfBars() {
  lever(['bars', 'import', join(shared, 'data', 'etf')]);
}

// Starts `lever serve` serving the repository's web/ and resolves once it listens.
export function startServer() {
  required('DATABASE_URL');
  const child = spawn(required('LEVER_BIN'), ['serve'], {
    env: {
      ...process.env,
      LEVER_LISTEN: '127.0.0.1:0',
      LEVER_STATIC_DIR: join(sourceRoot, 'web'),
      LEVER_WORKERS: process.env.LEVER_WORKERS ?? '2',
      LEVER_LOG: 'quiet',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lever serve did not start within 30 s:\n${log}`));
    }, 30000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ baseUrl: match[1], log: () => log, stop: () => stopServer(child) });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lever serve exited with ${code}:\n${log}`));
    });
  });
}

// SIGTERM, then wait for the graceful exit (SIGKILL after 20 s). Resolves with the exit code.
function stopServer(child) {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    child.removeAllListeners('exit');
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise(code);
    });
    child.kill('SIGTERM');
  });
}

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// A browser with a fresh profile and one page. Every console error, uncaught exception and
// failed request is collected in `problems`, so a test can assert the page ran cleanly
// (a Content-Security-Policy violation shows up there as a console error; the HTTP errors
// Chromium also logs are left out, since tests provoke some on purpose).
export async function openBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'lever-ui-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on('console', (message) => {
    // API answers such as 400 or 401 are expected and also logged by Chromium; skip those.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`exception: ${error.message}`));
  return {
    page,
    problems,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
