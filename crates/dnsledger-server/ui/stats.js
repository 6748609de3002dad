// The statistics page: new names per day and TLD, the IPv6 and DNSSEC-signed shares per
// day, from /api/v1/stats/history with the key the search page keeps for this session.

import { apiKey, history } from './api.js';
import { barChart, daysBetween, shareChart } from './chart.js';
import { number } from './format.js';

const $ = (id) => document.getElementById(id);

async function load() {
  const days = $('days').value;
  $('error').hidden = true;
  if (!apiKey.get()) {
    showError('No API key in this browser session: enter one on the search page first.');
    return;
  }
  $('status').textContent = 'Counting over the whole history…';
  try {
    render(await history(days));
    $('status').textContent = '';
  } catch (error) {
    $('status').textContent = '';
    showError(error.message);
  }
}

function showError(message) {
  $('charts').hidden = true;
  $('error').textContent = message;
  $('error').hidden = false;
}

function byDay(answer, field) {
  return new Map(answer.days.map((d) => [d.day, d[field]]));
}

function render(answer) {
  $('charts').hidden = false;
  if (answer.days.length === 0) {
    $('charts-heading').textContent = 'Nothing observed yet';
    return;
  }
  const days = daysBetween(answer.from, answer.to);
  $('charts-heading').textContent = `${answer.from} to ${answer.to} (UTC)`;
  barChart(
    $('new-chart'),
    days,
    [
      { name: 'new names', values: byDay(answer, 'new_names'), className: 'names' },
      { name: 'new registered domains', values: byDay(answer, 'new_domains'), className: 'domains' },
    ],
    'New names per day',
  );
  shareChart($('ipv6-chart'), days, byDay(answer, 'ipv6_share'), 'IPv6 share', 'ipv6');
  shareChart($('dnssec-chart'), days, byDay(answer, 'dnssec_share'), 'DNSSEC-signed share', 'dnssec');
  renderTlds(answer.tlds, days);
  $('scanned').textContent = `Computed from ${number(answer.rows_scanned)} RRset rows (refreshed at most every 5 minutes).`;
}

/** The TLD table; each TLD is a button that charts its new names per day below. */
function renderTlds(tlds, days) {
  const rows = tlds.map((t) => {
    const busiest = t.per_day.reduce((best, d) => (d[1] > best[1] ? d : best), ['', 0]);
    const tr = document.createElement('tr');
    const choose = document.createElement('button');
    choose.type = 'button';
    choose.className = 'link';
    choose.textContent = t.tld;
    choose.addEventListener('click', () => chartTld(t, days));
    const first = document.createElement('td');
    first.append(choose);
    tr.append(first);
    for (const text of [number(t.new_names), number(t.new_domains), `${busiest[0]} (${number(busiest[1])})`]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  $('tlds').tBodies[0].replaceChildren(...rows);
  if (tlds.length > 0) chartTld(tlds[0], days);
}

function chartTld(tld, days) {
  $('tld-caption').textContent = `New names per day under .${tld.tld} (inside them, new registered domains)`;
  const names = new Map(tld.per_day.map(([day, n]) => [day, n]));
  const domains = new Map(tld.per_day.map(([day, , d]) => [day, d]));
  barChart(
    $('tld-chart'),
    days,
    [
      { name: `new names under .${tld.tld}`, values: names, className: 'names' },
      { name: 'new registered domains', values: domains, className: 'domains' },
    ],
    `New names under .${tld.tld}`,
  );
}

$('days').addEventListener('change', load);
load();
