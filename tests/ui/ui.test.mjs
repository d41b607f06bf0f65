// ui.test.mjs — Lever's web UI in a real browser against a real `lever serve`: sign in with
// a token, import a strategy, see every validation problem of a broken one, run a backtest
// (metrics + equity curve), run a 2×3 batch to the end, and read the Data page. The tests
// run in order and share one signed-in page, as a trader would.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { createUser, importEtfBars, openBrowser, shared, startServer } from './lever.mjs';

const SCREENSHOT = '/tmp/lever-ui-backtest.png';
const TIMEOUT = 30000;

let server;
let browser;
let page;
let user;

before(async () => {
  importEtfBars();
  user = createUser('ui');
  server = await startServer();
  browser = await openBrowser();
  page = browser.page;
  page.setDefaultTimeout(TIMEOUT);
});

after(async () => {
  await browser?.close();
  if (server) assert.equal(await server.stop(), 0, 'lever serve exits 0 on SIGTERM');
});

function strategyDocument(name) {
  return readFileSync(join(shared, 'data', 'strategies', name), 'utf8');
}

test('the page is served with its own strict policy and asks to sign in', async () => {
  const response = await page.goto(`${server.baseUrl}/`);
  assert.equal(response.status(), 200);
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  await page.getByRole('heading', { name: 'Sign in to Lever' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Sign in with Discord' }).getAttribute('href'), '/auth/discord');
});

test('a wrong token is refused with the API message', async () => {
  await page.getByLabel('API token').fill('lvr_not_a_real_token');
  await page.getByRole('button', { name: 'Sign in with token' }).click();
  await page.getByRole('alert').filter({ hasText: 'invalid, expired or revoked token' }).waitFor();
});

test('signing in with a token opens the strategy library', async () => {
  await page.getByLabel('API token').fill(user.token);
  await page.getByRole('button', { name: 'Sign in with token' }).click();
  await page.getByRole('heading', { name: 'Strategies' }).waitFor();
  assert.equal(await page.locator('#who-name').textContent(), user.name);
  assert.equal(await page.evaluate(() => localStorage.getItem('lever.token')), user.token);
});

test('importing a strategy document lists it', async () => {
  await page.getByText('Import a strategy document').click();
  await page.getByLabel('Strategy document (JSON)').fill(strategyDocument('sma-switch.json'));
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByRole('heading', { name: 'SPY/TLT trend switch' }).waitFor();
  await page.getByRole('link', { name: 'Strategies' }).click();
  await page.getByRole('link', { name: 'SPY/TLT trend switch' }).waitFor();
});

test('a broken strategy shows every validation problem with its path', async () => {
  await page.getByRole('link', { name: 'New strategy' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Broken');
  await page.getByLabel('Elements (JSON)').fill(JSON.stringify([
    { id: 't1', type: 'ticker', weight: 'lots' },
    { id: 'g1', type: 'gate', weight: 100, conditions: [], thenChildren: [], elseChildren: [] },
  ]));
  await page.getByRole('button', { name: 'Create' }).click();
  const alert = page.getByRole('alert').filter({ hasText: 'the strategy is invalid' });
  await alert.waitFor();
  const problems = await alert.locator('li code').allTextContents();
  assert.ok(problems.includes('/elements/0/weight'), `problems: ${problems}`);
  assert.ok(problems.includes('/elements/0/ticker'), `problems: ${problems}`);
  assert.ok(problems.some((path) => path.startsWith('/elements/1')), `problems: ${problems}`);
  assert.equal(await page.getByLabel('Elements (JSON)').getAttribute('aria-invalid'), 'true');
});

test('malformed JSON is reported before anything is sent', async () => {
  await page.getByLabel('Elements (JSON)').fill('[{"type": "ticker",');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('alert').filter({ hasText: 'Elements is not valid JSON' }).waitFor();
});

test('a backtest shows metrics against the benchmark and an equity curve', async () => {
  await page.getByRole('link', { name: 'Backtest' }).first().click();
  await page.getByRole('heading', { name: 'Backtest', exact: true }).waitFor();
  await page.getByLabel('Strategy', { exact: true }).selectOption({ label: 'SPY/TLT trend switch' });
  await page.getByLabel('Start').fill('2005-01-03');
  await page.getByRole('button', { name: 'Run backtest' }).click();
  const result = page.locator('#backtest-result .result');
  await result.waitFor();
  const window = await result.locator('.window').textContent();
  assert.match(window, /2005-01-03 → 2025-09-26/);
  const rows = result.locator('table tbody tr');
  assert.equal(await rows.count(), 17);
  const totalReturn = await rows.filter({ hasText: 'Total return' }).locator('td').allTextContents();
  assert.match(totalReturn[1], /^−?\d+\.\d\d%$/, `strategy total return: ${totalReturn}`);
  assert.match(totalReturn[2], /^−?\d+\.\d\d%$/, `benchmark total return: ${totalReturn}`);
  const sharpe = await rows.filter({ hasText: 'Sharpe' }).first().locator('td').allTextContents();
  assert.match(sharpe[1], /^−?\d+\.\d\d$/);
  for (const kind of ['strategy', 'benchmark']) {
    const d = await result.locator(`svg.chart path.series.${kind}`).getAttribute('d');
    assert.ok(d.startsWith('M') && d.split('L').length > 500, `${kind} path has a real curve`);
  }
  await page.locator('#backtest-history table').waitFor();
  assert.ok(await page.locator('#backtest-history tbody tr').count() >= 1);
  await result.scrollIntoViewIfNeeded();
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});

test('a backtest of a symbol without bars says so', async () => {
  await page.getByLabel('Strategy', { exact: true }).selectOption({ label: '— paste a strategy document —' });
  await page.getByLabel('Strategy document (JSON)').fill('[{"type": "ticker", "ticker": "ZZZZ", "weight": 100}]');
  await page.getByRole('button', { name: 'Run backtest' }).click();
  await page.getByRole('alert').filter({ hasText: 'ZZZZ' }).waitFor();
});

test('a 2×3 batch runs to the end and lists its runs and heatmap', async () => {
  await page.getByRole('link', { name: 'Batches' }).click();
  await page.getByRole('link', { name: 'New batch' }).click();
  await page.getByLabel('Strategy', { exact: true }).selectOption({ label: '— paste a strategy document —' });
  await page.getByLabel('Strategy document (JSON)').fill(strategyDocument('batch-sma-switch.json'));
  await page.getByLabel('Batch name').fill('ui sweep');
  await page.getByLabel('Variables (JSON)').fill(JSON.stringify([
    { name: 'risk', values: ['SPY', 'QQQ'] },
    { name: 'safe', values: ['TLT', 'IEF', 'SHY'] },
    { name: 'n', values: ['100'] },
  ]));
  await page.getByRole('button', { name: 'Start batch' }).click();
  await page.getByRole('heading', { name: 'ui sweep' }).waitFor();
  await page.locator('.job-status .badge.finished').waitFor({ timeout: 60000 });
  assert.match(await page.locator('.job-status').textContent(), /6 \/ 6/);
  const runs = page.locator('#batch-runs table.runs tbody tr');
  await runs.first().waitFor();
  assert.equal(await runs.count(), 6);

  // Sorting by Sharpe (best first) puts the largest value on top.
  await page.locator('#batch-runs th').getByRole('button', { name: 'Sharpe' }).click();
  await page.locator('#batch-runs th[aria-sort="descending"]').waitFor();
  const sharpeColumn = await page.locator('#batch-runs table.runs tbody tr td:nth-child(7)').allTextContents();
  const values = sharpeColumn.map((text) => Number(text.replace('−', '-')));
  assert.deepEqual(values, [...values].sort((a, b) => b - a));

  // A where filter narrows the list; a bad one shows the API's message with its ?where path.
  await page.getByLabel('Filter (where)').fill('sharpe>x');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByRole('alert').filter({ hasText: '?where' }).waitFor();

  const cells = page.locator('#batch-heatmap svg.heatmap rect');
  await cells.first().waitFor();
  assert.equal(await cells.count(), 6);
  const fills = new Set(await cells.evaluateAll((rects) => rects.map((r) => r.getAttribute('fill'))));
  assert.ok(fills.size > 1, 'cells are colored by value');

  await page.getByRole('link', { name: 'Batches' }).click();
  await page.getByRole('link', { name: 'ui sweep' }).waitFor();
});

test('the Data page lists SPY with its coverage', async () => {
  await page.getByRole('link', { name: 'Data' }).click();
  await page.getByRole('heading', { name: 'Market data' }).waitFor();
  const spy = page.locator('tbody tr').filter({ has: page.locator('td:first-child', { hasText: /^SPY$/ }) });
  await spy.waitFor();
  const cells = await spy.locator('td').allTextContents();
  assert.equal(cells[1], '1993-01-29');
  assert.equal(cells[2], '2025-09-26');
});

test('a CSV file imported on the Data page is listed, and a bad row is named', async () => {
  const file = (rows) => ({ name: 'UICSV.csv', mimeType: 'text/csv', buffer: Buffer.from(`date,open,high,low,close,volume\n${rows}`) });
  const form = page.locator('form').filter({ has: page.getByRole('heading', { name: 'Import a CSV file' }) });
  await form.getByLabel('File').setInputFiles(file('2024-01-02,10,11,9,10,100\n2024-01-03,10,12,10,abc,100\n'));
  await form.getByRole('button', { name: 'Import' }).click();
  await form.getByRole('alert').filter({ hasText: 'field close' }).waitFor();
  await form.getByLabel('File').setInputFiles(file('2024-01-02,10,11,9,10,100\n2024-01-03,10,12,10,11,100\n'));
  await form.getByRole('button', { name: 'Import' }).click();
  await form.getByText('Stored 2 bars of UICSV').waitFor();
  await page.locator('tbody tr').filter({ has: page.locator('td:first-child', { hasText: /^UICSV$/ }) }).waitFor();
});

test('variable lists are created with upper-cased tickers and bad values named by index', async () => {
  await page.getByRole('link', { name: 'Variable lists' }).click();
  await page.getByRole('button', { name: 'New list' }).click();
  await page.getByLabel('Name', { exact: true }).fill('periods');
  await page.getByLabel('Type').selectOption('number');
  await page.getByLabel('Values').fill('50, 100, lots');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('alert').locator('code', { hasText: '/values/2' }).waitFor();
  await page.getByLabel('Type').selectOption('ticker');
  await page.getByLabel('Values').fill('spy qqq');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('tbody tr').filter({ hasText: 'periods' }).filter({ hasText: 'SPY, QQQ' }).waitFor();
});

test('the account page creates a token, shown once, and revokes it', async () => {
  await page.getByRole('link', { name: 'Account' }).click();
  await page.getByRole('heading', { name: 'API tokens' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('from the browser');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = await page.locator('#new-token').textContent();
  assert.match(secret, /^lvr_/);
  const row = page.locator('tbody tr').filter({ hasText: 'from the browser' });
  page.once('dialog', (dialog) => dialog.accept());
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.waitFor({ state: 'detached' });
});

test('the session ran without script errors or policy violations', () => {
  assert.deepEqual(browser.problems, []);
});

test('signing out forgets the token', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Lever' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('lever.token')), null);
});
