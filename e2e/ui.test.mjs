// dnsledger's web UI in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) against `dnsledger demo` on loopback, as an analyst would use it: the key,
// searches by name and by CIDR, pivots from an address to its names and on to a
// nameserver's domains, the timeline, the exports, permalinks, errors and the keyboard.
//
// Environment: URL (the demo's http://127.0.0.1:PORT/), KEY (its API key), QUOTA_KEY (a key
// of the same server with a daily quota of 2 queries), SCREENSHOTS (a directory for one PNG
// per step, plus the exported files). crates/dnsledger/tests/ui.rs
// starts the demo and runs this; by hand: `URL=... KEY=... QUOTA_KEY=... SCREENSHOTS=/tmp/s
// node ui.test.mjs`.
// Exit status 0 when every step passed.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const { URL: PAGE_URL, KEY, QUOTA_KEY, SCREENSHOTS } = process.env;
if (!PAGE_URL || !KEY || !QUOTA_KEY || !SCREENSHOTS) {
  console.error('ui.test.mjs needs URL, KEY, QUOTA_KEY and SCREENSHOTS in the environment');
  process.exit(2);
}
const ORIGIN = new URL(PAGE_URL).origin;

// What this machine's Chromium needs to run headless as root without reaching out anywhere.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The demo's data (fixtures/testbed): the domains that use ns1.delta-hosting.com as NS. */
const DELTA_HOSTING_DOMAINS = [
  'delta-hosting.com.',
  'echo-shop.com.',
  'foxtrot-wild.com.',
  'rev-dns.net.',
  'uniform-txt.org.',
  'us.hotel-sub.com.',
  'victor-caa.org.',
];

// ---------------------------------------------------------------------------------------
// Steps: each one timed and photographed (NN-name.png), and on failure photographed too.

let page;
let shots = 0;

async function screenshot(name) {
  shots += 1;
  const file = path.join(SCREENSHOTS, `${String(shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

async function step(name, body) {
  const started = performance.now();
  try {
    await body();
  } catch (error) {
    console.log(`FAIL ${name}`);
    await screenshot(`FAILED-${name}`).catch(() => {});
    throw error;
  }
  await screenshot(name);
  console.log(`ok   ${name} (${Math.round(performance.now() - started)} ms)`);
}

// ---------------------------------------------------------------------------------------
// Reading the page.

/** Waits until results are shown, not loading, under a heading that contains `text`. */
async function resultsFor(text) {
  await page.waitForFunction((expected) => {
    const results = document.getElementById('results');
    return (
      !results.hidden &&
      results.getAttribute('aria-busy') === 'false' &&
      document.getElementById('results-heading').textContent.includes(expected)
    );
  }, text);
}

/** The table's rows as the analyst reads them. */
async function tableRows() {
  return page.$$eval('#rows tbody tr', (trs) =>
    trs.map((tr) => ({
      rrname: tr.cells[0].querySelector('a.history').textContent,
      rrtype: tr.cells[1].textContent,
      rdata: [...tr.cells[2].querySelectorAll('li')].map((li) => li.textContent),
      bailiwick: tr.cells[3].textContent,
      count: Number(tr.cells[4].textContent.replaceAll(',', '')),
    })),
  );
}

/** The totals line: {RRsets: '55', 'Total count': '415', ...}. */
async function totals() {
  return page.$$eval('#totals div', (groups) =>
    Object.fromEntries(groups.map((g) => [g.querySelector('dt').textContent, g.querySelector('dd').textContent])),
  );
}

async function trail() {
  return page.$$eval('#trail li a', (links) => links.map((a) => a.textContent));
}

async function search(text) {
  await page.fill('#q', text);
  await page.press('#q', 'Enter');
}

/** Clicks a button that downloads a file; the file's text (also kept beside the screenshots). */
async function downloaded(buttonName, keepAs) {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: buttonName }).click(),
  ]);
  const file = path.join(SCREENSHOTS, keepAs);
  await download.saveAs(file);
  return { name: download.suggestedFilename(), text: fs.readFileSync(file, 'utf8') };
}

/** RFC 4180: fields separated by commas, quoted fields may hold commas, quotes and newlines. */
function parseCsv(text) {
  const records = [];
  let record = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n') {
      record.push(field.replace(/\r$/, ''));
      records.push(record);
      record = [];
      field = '';
    } else {
      field += c;
    }
  }
  return records;
}

// ---------------------------------------------------------------------------------------

async function main() {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dnsledger-ui-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const foreign = [];
  const pageErrors = [];
  // The page must work offline: nothing but the server's own origin (blob: downloads are
  // made in the page and belong to it).
  context.on('request', (request) => {
    if (new URL(request.url()).origin !== ORIGIN) foreign.push(request.url());
  });
  try {
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.setDefaultTimeout(10_000);
    await run();
    assert.deepEqual(foreign, [], 'the page asked only its own origin');
    assert.deepEqual(pageErrors, [], 'no uncaught script errors');
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function run() {
  await step('key-prompt', async () => {
    await page.goto(PAGE_URL);
    await page.locator('#key-panel').waitFor({ state: 'visible' });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'api-key', 'the key field has the focus');
  });

  await step('bad-key', async () => {
    await page.getByLabel('API key', { exact: true }).fill('dnsl_not-a-real-key');
    await page.getByRole('button', { name: 'Use this key' }).click();
    const error = page.locator('#key-error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.textContent(), /does not accept this API key: unknown API key/);
    assert.equal(await page.locator('#key-status').isVisible(), false);
  });

  await step('key-accepted', async () => {
    await page.getByLabel('API key', { exact: true }).fill(KEY);
    await page.keyboard.press('Enter');
    await page.locator('#key-status').waitFor({ state: 'visible' });
    assert.match(await page.locator('#key-status').textContent(), /demo/);
    assert.equal(await page.locator('#key-panel').isVisible(), false);
  });

  await step('keyboard-name-search', async () => {
    // Arriving at the page (the key is kept for the session), Tab reaches the search box
    // and Enter submits it.
    await page.goto(PAGE_URL);
    await page.locator('#key-status').waitFor({ state: 'visible' });
    let presses = 0;
    while ((await page.evaluate(() => document.activeElement.id)) !== 'q') {
      presses += 1;
      assert.ok(presses <= 10, 'Tab reaches the search box within 10 presses');
      await page.keyboard.press('Tab');
    }
    await page.keyboard.type('target-one.com');
    await page.keyboard.press('Enter');
    await resultsFor('RRsets of target-one.com');
    const rows = await tableRows();
    assert.deepEqual(new Set(rows.map((r) => r.rrname)), new Set(['target-one.com.']));
    assert.deepEqual(rows.map((r) => r.rrtype).sort(), ['A', 'NS', 'NS', 'SOA']);
    assert.deepEqual(rows.find((r) => r.rrtype === 'A').rdata, ['192.0.2.110']);
    assert.deepEqual(rows.find((r) => r.rrtype === 'NS').rdata, ['ns1.target-one.com.', 'ns2.target-one.com.']);
    assert.equal((await totals()).RRsets, String(rows.length));
    assert.match(page.url(), /[?&]q=target-one\.com(&|$)/);
    assert.equal(await page.locator('#timeline svg rect.span').count(), rows.length);
  });

  await step('sort-by-count', async () => {
    const header = page.locator('th[data-sort="count"]');
    await header.getByRole('button').click();
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    const ascending = (await tableRows()).map((r) => r.count);
    assert.deepEqual(ascending, [...ascending].sort((a, b) => a - b));
    await header.getByRole('button').click();
    assert.equal(await header.getAttribute('aria-sort'), 'descending');
    const descending = (await tableRows()).map((r) => r.count);
    assert.deepEqual(descending, [...ascending].reverse());
    assert.match(page.url(), /sort=count&desc=1/);
  });

  await step('permalink-reload', async () => {
    const before = await tableRows();
    const permalink = await page.locator('#permalink').getAttribute('href');
    assert.equal(new URL(permalink, PAGE_URL).href, page.url());
    await page.reload();
    await resultsFor('RRsets of target-one.com');
    assert.deepEqual(await tableRows(), before, 'the same rows in the same order');
    assert.equal(await page.locator('th[data-sort="count"]').getAttribute('aria-sort'), 'descending');
  });

  await step('time-window', async () => {
    // Nothing was seen in 2000; the day the data was seen holds all of it again.
    await page.selectOption('#window', 'dates');
    await page.fill('#from', '2000-01-01');
    await page.fill('#to', '2000-12-31');
    await page.press('#q', 'Enter');
    await page.locator('#empty').waitFor({ state: 'visible' });
    await resultsFor('RRsets of target-one.com');
    assert.equal((await tableRows()).length, 0);
    assert.match(page.url(), /window=dates&from=2000-01-01&to=2000-12-31/);
    const seen = (await totals())['Last seen'];
    assert.equal(seen, undefined, 'no times for an empty answer');
    await page.fill('#from', '');
    await page.fill('#to', '');
    await page.selectOption('#window', 'any');
    await page.press('#q', 'Enter');
    await resultsFor('RRsets of target-one.com');
    const day = (await totals())['First seen'].slice(0, 10);
    await page.fill('#from', day);
    await page.fill('#to', day);
    await page.press('#q', 'Enter');
    await page.waitForURL(/window=dates/);
    await resultsFor('RRsets of target-one.com');
    assert.equal((await tableRows()).length, 4);
    await page.selectOption('#window', 'any');
  });

  await step('bad-query', async () => {
    await search('www.*.com');
    const error = page.locator('#error');
    await error.waitFor({ state: 'visible' });
    // The server's own 400 message, as it said it.
    assert.match(await error.textContent(), /cannot run this query: "www\.\*\.com": no wildcard in the middle of a name/);
    assert.equal(await page.locator('#results').isVisible(), false);
  });

  await step('cidr-search-and-load-more', async () => {
    await page.selectOption('#page', '25');
    await search('192.0.2.0/24');
    await resultsFor('Records with addresses in 192.0.2.0,24');
    assert.equal((await tableRows()).length, 25);
    assert.equal(await page.locator('#limited').isVisible(), true, 'the limited notice shows');
    assert.match(await page.locator('#limited').textContent(), /Limited/);
    const total = Number((await totals()).RRsets.replaceAll(',', ''));
    assert.ok(total > 50, `more than two pages match (${total})`);
    await page.getByRole('button', { name: 'Load 25 more' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#rows tbody tr').length === 50);
    await page.getByRole('button', { name: 'Load 25 more' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('#rows tbody tr').length === n, total);
    await page.locator('#load-more').waitFor({ state: 'hidden' });
    assert.equal(await page.locator('#limited').isVisible(), false);
    const rows = await tableRows();
    for (const row of rows) {
      assert.equal(row.rrtype, 'A', `${row.rrname} is an A record`);
      assert.equal(row.rdata.length, 1);
      assert.match(row.rdata[0], /^192\.0\.2\.\d{1,3}$/, `${row.rrname} ${row.rdata[0]} is in 192.0.2.0/24`);
    }
    const distinct = new Set(rows.map((r) => `${r.rrname} ${r.rdata[0]}`));
    assert.equal(distinct.size, rows.length, 'each page brought new rows');
    assert.match(page.url(), new RegExp(`[?&]n=${total}(&|$)`));
  });

  await step('timeline', async () => {
    const rows = (await tableRows()).length;
    const bars = page.locator('#timeline svg rect.span');
    assert.equal(await bars.count(), rows, 'one bar per row');
    const widths = await bars.evaluateAll((rects) => rects.map((r) => r.getBBox().width));
    assert.ok(widths.every((w) => w >= 3), 'every bar is drawn');
    assert.equal(await page.locator('#timeline svg .count').count(), rows, 'each bar has its count');
    const columnsPerRow = await page
      .locator('#timeline svg g.row')
      .evaluateAll((groups) => groups.map((g) => g.querySelectorAll('rect.activity').length));
    assert.ok(columnsPerRow.length === rows && columnsPerRow.every((n) => n >= 1), 'each bar shows its activity');
    await page.locator('#timeline-box').screenshot({ path: path.join(SCREENSHOTS, 'timeline-only.png') });
  });

  await step('pivot-ip-to-names', async () => {
    await page.locator('#rows a.pivot.address', { hasText: /^192\.0\.2\.70$/ }).first().click();
    await resultsFor('Records with addresses in 192.0.2.70');
    const rows = await tableRows();
    assert.ok(rows.some((r) => r.rrname === 'echo-shop.com.'), 'echo-shop.com. pointed at 192.0.2.70');
    assert.ok(rows.every((r) => r.rdata[0] === '192.0.2.70'));
    assert.deepEqual(await trail(), ['192.0.2.0/24', '192.0.2.70']);
  });

  await step('pivot-name-history', async () => {
    await page.locator('#rows a.pivot.history', { hasText: /^echo-shop\.com\.$/ }).first().click();
    await resultsFor('RRsets of echo-shop.com.');
    const rows = await tableRows();
    assert.ok(rows.every((r) => r.rrname === 'echo-shop.com.'));
    const ns = rows.filter((r) => r.rrtype === 'NS');
    assert.ok(ns.length > 0 && ns.every((r) => r.rdata.includes('ns1.delta-hosting.com.')));
  });

  await step('pivot-nameserver-to-domains', async () => {
    await page.locator('#rows a.pivot.server', { hasText: /^ns1\.delta-hosting\.com\.$/ }).first().click();
    await resultsFor('Records whose rdata names ns1.delta-hosting.com. · NS');
    const rows = await tableRows();
    assert.ok(rows.every((r) => r.rrtype === 'NS' && r.rdata[0] === 'ns1.delta-hosting.com.'));
    assert.deepEqual(rows.map((r) => r.rrname).sort(), DELTA_HOSTING_DOMAINS);
    assert.deepEqual(await trail(), [
      '192.0.2.0/24',
      '192.0.2.70',
      'echo-shop.com. · rrset',
      'ns1.delta-hosting.com. · rdata · NS',
    ]);
    assert.equal(await page.locator('#trail a').last().getAttribute('aria-current'), 'page');
  });

  const exported = {};
  await step('export-json-lines', async () => {
    const rows = await tableRows();
    const { name, text } = await downloaded('Download JSON lines', 'export.jsonl');
    assert.match(name, /\.jsonl$/);
    const objects = text.trimEnd().split('\n').map((line) => JSON.parse(line));
    assert.equal(objects.length, rows.length, 'one line per table row');
    assert.deepEqual(objects.map((o) => o.rrname), rows.map((r) => r.rrname));
    assert.ok(objects.every((o) => o.rrtype === 'NS' && Number.isInteger(o.time_first) && o.count > 0));
    exported.objects = objects;
  });

  await step('export-csv', async () => {
    const rows = await tableRows();
    const { name, text } = await downloaded('Download CSV', 'export.csv');
    assert.match(name, /\.csv$/);
    const [header, ...records] = parseCsv(text);
    assert.deepEqual(header, ['rrname', 'rrtype', 'rdata', 'bailiwick', 'count', 'time_first', 'time_last']);
    assert.equal(records.length, rows.length);
    assert.deepEqual(
      records.map(([rrname, rrtype, rdata, , count]) => [rrname, rrtype, rdata, Number(count)]),
      rows.map((r) => [r.rrname, r.rrtype, r.rdata.join('\n'), r.count]),
    );
    assert.ok(records.every((r) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(r[5])));
  });

  await step('dnsdbq-command', async () => {
    await page.getByRole('button', { name: 'dnsdbq command' }).click();
    const command = await page.getByLabel(/The same rows with dnsdbq/).inputValue();
    assert.equal(command, `DNSDB_SERVER=${ORIGIN} dnsdbq -u dnsdb2 -j -l 7 -t NS -n ns1.delta-hosting.com.`);
    // Run as shown, it prints what the page exported.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dnsledger-ui-dnsdbq-'));
    const output = execFileSync('sh', ['-c', command], {
      env: { PATH: process.env.PATH, HOME: home, DNSDB_API_KEY: KEY },
      encoding: 'utf8',
    });
    fs.rmSync(home, { recursive: true, force: true });
    const printed = output.trimEnd().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(printed, exported.objects);
  });

  await step('trail-and-back', async () => {
    await page.locator('#trail a', { hasText: '192.0.2.0/24' }).click();
    await resultsFor('Records with addresses in 192.0.2.0,24');
    assert.deepEqual(await trail(), ['192.0.2.0/24']);
    // All rows that were loaded before the pivots come back.
    assert.equal((await tableRows()).length, Number((await totals()).RRsets));
    await page.goBack();
    await resultsFor('Records whose rdata names ns1.delta-hosting.com. · NS');
    assert.equal((await trail()).length, 4, 'Back restores the trail');
  });

  await step('statistics', async () => {
    const searchUrl = page.url();
    await page.getByRole('link', { name: 'Statistics' }).click();
    await page.locator('#charts').waitFor({ state: 'visible' });
    const response = await fetch(`${ORIGIN}/api/v1/stats/history?days=90`, { headers: { 'X-API-Key': KEY } });
    const answer = await response.json();
    assert.ok(answer.days.length >= 1, 'the testbed has days');
    const newNames = answer.days.reduce((sum, d) => sum + d.new_names, 0);
    assert.ok(newNames > 0);
    assert.equal(await page.locator('#new-chart rect.names').count(), answer.days.filter((d) => d.new_names > 0).length);
    const label = await page.locator('#new-chart svg').getAttribute('aria-label');
    assert.match(label, new RegExp(`: ${newNames.toLocaleString('en-US')} new names`));
    const ipv6Days = answer.days.filter((d) => d.ipv6_share !== null).length;
    assert.equal(await page.locator('#ipv6-chart circle.dot').count(), ipv6Days);
    const dnssecDays = answer.days.filter((d) => d.dnssec_share !== null).length;
    assert.equal(await page.locator('#dnssec-chart circle.dot').count(), dnssecDays);
    const firstTld = await page.locator('#tlds tbody tr').first().locator('td').allTextContents();
    assert.deepEqual(firstTld.slice(0, 2), [answer.tlds[0].tld, answer.tlds[0].new_names.toLocaleString('en-US')]);
    const second = answer.tlds[1];
    await page.getByRole('button', { name: second.tld, exact: true }).click();
    assert.match(await page.locator('#tld-caption').textContent(), new RegExp(`under \\.${second.tld} `));
    const tldLabel = await page.locator('#tld-chart svg').getAttribute('aria-label');
    assert.match(tldLabel, new RegExp(`: ${second.new_names.toLocaleString('en-US')} new names under`));
    await page.screenshot({ path: path.join(SCREENSHOTS, 'statistics-page.png'), fullPage: true });
    await page.goBack();
    assert.equal(page.url(), searchUrl);
  });

  await step('new-domains', async () => {
    await page.getByRole('link', { name: 'New domains' }).click();
    await page.getByLabel('Under', { exact: true }).fill('delta-hosting.com');
    await page.getByLabel('Show', { exact: true }).selectOption('name');
    await page.getByRole('button', { name: 'Follow', exact: true }).click();
    await page.locator('#novelty-rows tbody tr').first().waitFor();
    const names = await page.$$eval('#novelty-rows tbody tr', (trs) => trs.map((tr) => tr.cells[2].textContent));
    assert.ok(names.includes('delta-hosting.com.'), names.join(' '));
    assert.ok(names.every((name) => name.endsWith('delta-hosting.com.')), names.join(' '));
    assert.equal(new Set(names).size, names.length, 'each name once');
    assert.match(await page.locator('#novelty-status').textContent(), /^Following: \d+ new names so far/);
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    assert.match(await page.locator('#novelty-status').textContent(), /^Stopped after \d+ new names/);
    // The served store has no watchlist rules: a watched feed shows nothing.
    await page.getByLabel('only watchlist hits').check();
    await page.getByRole('button', { name: 'Follow', exact: true }).click();
    await page.waitForTimeout(1000);
    assert.equal(await page.locator('#novelty-rows tbody tr').count(), 0, 'no rules, no hits');
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
  });

  await step('quota-exceeded', async () => {
    await page.getByRole('button', { name: 'Forget key' }).click();
    await page.getByLabel('API key', { exact: true }).fill(QUOTA_KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.locator('#key-status').waitFor({ state: 'visible' });
    assert.match(await page.locator('#key-status').textContent(), /two-a-day .*2 queries left today/);
    // The query on screen runs again with the new key: its lookup and summary use the quota.
    await resultsFor('Records whose rdata names ns1.delta-hosting.com. · NS');
    await search('echo-shop.com');
    const error = page.locator('#error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.textContent(), /has used its quota; try again later: daily query quota exhausted/);
    assert.equal(await page.locator('#results').isVisible(), false);
  });

  await step('accessible-basics', async () => {
    const unlabelled = await page.$$eval('input, select, textarea', (controls) =>
      controls.filter((c) => c.type !== 'hidden' && c.labels.length === 0).map((c) => c.outerHTML),
    );
    assert.deepEqual(unlabelled, [], 'every form control has a label');
    const headers = await page.$$eval('#rows th', (ths) => ths.map((th) => th.querySelector('button') !== null));
    assert.ok(headers.length === 7 && headers.every(Boolean), 'every column header is a sort button');
  });
}

main().then(
  () => console.log(`all steps passed; screenshots in ${SCREENSHOTS}`),
  (error) => {
    console.error(error.stack ?? error);
    process.exitCode = 1;
  },
);
