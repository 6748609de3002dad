// The page: the API key, the search form, the investigation trail and the results, kept in
// step with the URL so that every state has a permalink and Back goes back.

import { apiKey, dnsdb, interpret, keyInfo } from './api.js';
import { baseName, csv, download, jsonLines } from './export.js';
import { number, utc } from './format.js';
import * as query from './query.js';
import { isSortKey, renderTable, sortRows, toRow } from './table.js';
import { renderTimeline } from './timeline.js';
import { setupNovelty } from './novelty.js';

const $ = (id) => document.getElementById(id);

/** What the page shows. */
const view = {
  state: query.defaults(), // the URL's state
  trail: [], // the states of this investigation, the shown one last
  lookup: null, // the lookup the results answer ({form, value, type, bailiwick})
  rows: [], // loaded rows, in the server's order
  end: null, // how the last page ended: {cond, msg}
  summary: null, // summarize's object, {error} when it failed, null when nothing matched
  summaryEnd: null, // how summarize ended (limited: the totals are a lower bound)
  controller: null, // aborts the requests in flight when another query starts
};

// ---------------------------------------------------------------------------------------
// Navigation: every query is a history entry whose URL is its permalink; the trail of the
// investigation rides along in the entry's state, so Back and reload keep it.

function navigate(state, trail) {
  history.pushState({ trail }, '', query.toUrl(state));
  show(state, trail);
}

/** Shows a state (a new URL, Back, or the first load) and runs its query. */
function show(state, trail) {
  view.state = state;
  view.trail = trail ?? (state.q ? [state] : []);
  fillForm(state);
  renderTrail();
  if (state.q) {
    run();
  } else {
    $('results').hidden = true;
  }
}

/** Records a change that needs no new query (sort, more rows) in the current entry. */
function replaceState(state) {
  view.state = state;
  view.trail = [...view.trail.slice(0, -1), state];
  history.replaceState({ trail: view.trail }, '', query.toUrl(state));
  renderTrail();
}

function renderTrail() {
  const nav = $('trail');
  nav.hidden = view.trail.length === 0;
  const items = view.trail.map((state, i) => {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = query.toUrl(state);
    link.textContent = query.describe(state);
    link.dataset.step = String(i);
    if (i === view.trail.length - 1) link.setAttribute('aria-current', 'page');
    item.append(link);
    return item;
  });
  nav.querySelector('ol').replaceChildren(...items);
}

function onTrailClick(event) {
  const link = event.target.closest('a[data-step]');
  if (!link || isNewTabClick(event)) return;
  event.preventDefault();
  const step = Number(link.dataset.step);
  navigate(view.trail[step], view.trail.slice(0, step + 1));
}

/** Ctrl-, Shift- or middle-click: let the browser open the permalink elsewhere. */
function isNewTabClick(event) {
  return event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey;
}

// ---------------------------------------------------------------------------------------
// The API key: asked once per browser session, checked with the server when entered.

function askForKey(message = '') {
  $('key-status').hidden = true;
  $('key-panel').hidden = false;
  const error = $('key-error');
  error.textContent = message;
  error.hidden = !message;
  $('api-key').focus();
}

function showKey(info) {
  $('key-panel').hidden = true;
  $('key-status').hidden = false;
  $('key-name').textContent = info.name;
  const rate = info.rate ?? {};
  const limits = [`scopes: ${info.scopes.join(', ')}`];
  if (typeof rate.results_max === 'number') limits.push(`up to ${number(rate.results_max)} rows a query`);
  if (typeof rate.remaining === 'number') limits.push(`${number(rate.remaining)} queries left today`);
  $('key-limits').textContent = `(${limits.join(' · ')})`;
}

async function onKeySubmit(event) {
  event.preventDefault();
  const candidate = $('api-key').value.trim();
  try {
    const info = await keyInfo(candidate);
    apiKey.set(candidate);
    $('api-key').value = '';
    showKey(info);
    $('q').focus();
    if (view.state.q) run();
  } catch (error) {
    askForKey(error.message);
  }
}

function onForgetKey() {
  apiKey.forget();
  askForKey();
}

/** On load: a key from earlier in this session is checked again (it may have been revoked). */
async function checkStoredKey() {
  try {
    showKey(await keyInfo(apiKey.get()));
  } catch (error) {
    if (error.isKeyProblem) apiKey.forget();
    askForKey(error.message);
  }
}

// ---------------------------------------------------------------------------------------
// The search form.

function fillForm(state) {
  const form = $('search');
  form.elements.q.value = state.q;
  form.elements.dir.value = state.dir;
  form.elements.type.value = state.type;
  form.elements.bw.value = state.bw;
  form.elements.window.value = state.window;
  form.elements.from.value = state.from;
  form.elements.to.value = state.to;
  form.elements.strict.checked = state.strict;
  form.elements.page.value = String(state.page);
}

function formState() {
  const form = $('search').elements;
  // The dates count only for a window between dates; elsewhere they would clutter the URL.
  const dates = form.window.value === 'dates';
  return {
    ...query.defaults(),
    q: form.q.value.trim(),
    dir: form.dir.value,
    type: form.type.value.trim().toUpperCase(),
    bw: form.bw.value.trim(),
    window: form.window.value,
    from: dates ? form.from.value : '',
    to: dates ? form.to.value : '',
    strict: form.strict.checked,
    page: Number(form.page.value),
  };
}

/** A new search from the box starts a new investigation. */
function onSearch(event) {
  event.preventDefault();
  const state = formState();
  navigate(state, [state]);
}

/** Picking a date means searching between the dates. */
function onDatePicked() {
  $('window').value = 'dates';
}

// ---------------------------------------------------------------------------------------
// Running a query: the server reads the text, then the lookup and its totals run together.

async function run() {
  view.controller?.abort();
  const controller = new AbortController();
  view.controller = controller;
  clearError();
  if (!apiKey.get()) {
    askForKey('Enter your API key to run this search.');
    return;
  }
  setBusy(true, `Searching for ${view.state.q}…`);
  try {
    await fetchResults(view.state, controller.signal);
    renderResults();
    $('results-heading').focus();
  } catch (error) {
    if (error.name === 'AbortError') return;
    // The results on screen answer an earlier query: take them away.
    $('results').hidden = true;
    showFailure(error);
  } finally {
    if (view.controller === controller) setBusy(false);
  }
}

async function fetchResults(state, signal) {
  const reading = await interpret(state.q, signal);
  const lookup = query.resolve(state, reading);
  const fences = query.fences(state);
  // limit=0: the totals cover as much of the answer as the key may see.
  const summary = dnsdb(query.apiPath('summarize', lookup), { ...fences, limit: 0 }, signal).catch(
    (error) => ({ error }),
  );
  const limit = Math.max(state.n, state.page);
  const answer = await dnsdb(query.apiPath('lookup', lookup), { ...fences, limit, activity: true }, signal);
  const totals = await summary;
  if (totals.error?.name === 'AbortError') throw totals.error;
  view.lookup = lookup;
  view.rows = answer.objects.map(toRow);
  view.end = answer.end;
  view.summary = totals.error ? totals : (totals.objects[0] ?? null);
  view.summaryEnd = totals.end;
}

async function loadMore() {
  const controller = new AbortController();
  view.controller = controller;
  clearError();
  setBusy(true, 'Loading more rows…');
  const state = view.state;
  const params = { ...query.fences(state), limit: state.page, offset: view.rows.length, activity: true };
  try {
    const answer = await dnsdb(query.apiPath('lookup', view.lookup), params, controller.signal);
    const base = view.rows.length;
    view.rows.push(...answer.objects.map((obj, i) => toRow(obj, base + i)));
    view.end = answer.end;
    replaceState({ ...state, n: view.rows.length > state.page ? view.rows.length : 0 });
    renderResults();
    ($('load-more').hidden ? $('results-heading') : $('load-more')).focus();
  } catch (error) {
    if (error.name !== 'AbortError') showFailure(error);
  } finally {
    if (view.controller === controller) setBusy(false);
  }
}

function setBusy(busy, message = '') {
  $('results').setAttribute('aria-busy', String(busy));
  $('status').textContent = message;
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

/** A refused key goes back to the key form; anything else is said above the results. */
function showFailure(error) {
  if (error.isKeyProblem) {
    apiKey.forget();
    askForKey(error.message);
    return;
  }
  $('error').textContent = error.message;
  $('error').hidden = false;
}

// ---------------------------------------------------------------------------------------
// The results.

const FORM_TITLES = {
  'rrset/name': 'RRsets of',
  'rrset/raw': 'RRsets with the raw owner name',
  'rdata/name': 'Records whose rdata names',
  'rdata/ip': 'Records with addresses in',
  'rdata/raw': 'Records with the raw rdata',
};

function renderResults() {
  const { lookup, state } = view;
  $('results').hidden = false;
  const filters = [lookup.type, lookup.bailiwick && `bailiwick ${lookup.bailiwick}`].filter(Boolean);
  $('results-heading').textContent = [`${FORM_TITLES[lookup.form]} ${lookup.value}`, ...filters].join(' · ');
  renderSwitch();
  renderTotals();
  renderLimited();
  renderRows();
  $('empty').hidden = view.rows.length > 0;
  $('permalink').href = query.toUrl(state);
  $('dnsdbq').value = query.dnsdbqCommand(location.origin, state, lookup, view.rows.length);
  const note = $('dnsdbq-note');
  note.hidden = !(lookup.form === 'rdata/ip' && lookup.type);
  note.textContent = "dnsdbq's -i takes no record type: its answer holds every type.";
  if (view.end.cond === 'failed') {
    $('error').textContent = `The query failed part-way through (the rows before it are shown): ${view.end.msg}`;
    $('error').hidden = false;
  }
}

/** The same text looked up in the other direction (owner name <-> rdata), when there is one. */
function renderSwitch() {
  const button = $('switch-dir');
  const other = query.otherDirection(view.lookup);
  button.hidden = !other;
  button.textContent = other === 'rdata' ? 'Switch to records pointing at it (rdata)' : 'Switch to its own RRsets';
  button.dataset.dir = other ?? '';
}

function onSwitchDirection() {
  const state = { ...view.state, dir: $('switch-dir').dataset.dir, n: 0, sort: '', desc: false };
  navigate(state, [...view.trail, state]);
}

function renderTotals() {
  const totals = [];
  const summary = view.summary;
  if (summary?.error) {
    totals.push(['Totals', `unavailable: ${summary.error.message}`]);
  } else {
    const atLeast = view.summaryEnd?.cond === 'limited' ? 'at least ' : '';
    totals.push(['RRsets', `${atLeast}${number(summary?.num_results ?? 0)}`]);
    totals.push(['Total count', `${atLeast}${number(summary?.count ?? 0)}`]);
    if (summary) {
      totals.push(['First seen', `${utc(summary.time_first)} UTC`]);
      totals.push(['Last seen', `${utc(summary.time_last)} UTC`]);
    }
  }
  totals.push(['Shown', number(view.rows.length)]);
  $('totals').replaceChildren(
    ...totals.map(([term, value]) => {
      const group = document.createElement('div');
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = term;
      dd.textContent = value;
      group.append(dt, dd);
      return group;
    }),
  );
}

function renderLimited() {
  const limited = view.end.cond === 'limited';
  const notice = $('limited');
  notice.hidden = !limited;
  notice.textContent = limited
    ? `Limited: the server stopped after ${number(view.rows.length)} rows (${view.end.msg}) and more match. Load more below, or narrow the search.`
    : '';
  const more = $('load-more');
  more.hidden = !limited;
  more.textContent = `Load ${number(view.state.page)} more`;
}

/** The table and the timeline, in the chosen order. */
function renderRows() {
  const { sort, desc } = view.state;
  const rows = shownRows();
  renderTable($('rows'), rows, isSortKey(sort) ? sort : '', desc, pivotLink);
  renderTimeline($('timeline'), rows);
}

function shownRows() {
  const { sort, desc } = view.state;
  return sortRows(view.rows, isSortKey(sort) ? sort : '', desc);
}

/** First click sorts ascending, the next one flips the order. */
function onSortClick(event) {
  const header = event.target.closest('th[data-sort]');
  if (!header || !event.target.closest('button')) return;
  const key = header.dataset.sort;
  const state = view.state;
  const desc = state.sort === key ? !state.desc : false;
  replaceState({ ...state, sort: key, desc });
  $('permalink').href = query.toUrl(view.state);
  renderRows();
}

// ---------------------------------------------------------------------------------------
// Pivots: each name and address in the rows links to the natural next query. The links
// are real permalinks (open them in a new tab); a plain click runs them here, on the trail.

/** [state, description] of the query a pivot runs. */
function pivotTarget(kind, value, rrtype) {
  const from = view.state;
  switch (kind) {
    case 'address':
      return [query.pivot(from, value, 'auto'), `Names that pointed at ${value}`];
    case 'server':
      return [query.pivot(from, value, 'rdata', rrtype), `Domains that use ${value} as ${rrtype}`];
    case 'referrers':
      return [query.pivot(from, value, 'rdata'), `Records whose rdata names ${value}`];
    default:
      return [query.pivot(from, value, 'rrset'), `History of ${value}`];
  }
}

function pivotLink(kind, value, rrtype) {
  const [state, description] = pivotTarget(kind, value, rrtype);
  const link = document.createElement('a');
  link.href = query.toUrl(state);
  link.className = `pivot ${kind}`;
  link.title = description;
  if (kind === 'referrers') {
    // A short visible mark beside the name; the whole sentence for screen readers.
    const hidden = document.createElement('span');
    hidden.className = 'visually-hidden';
    hidden.textContent = `: ${description}`;
    link.append('refs', hidden);
  } else {
    link.textContent = value;
  }
  return link;
}

function onRowsClick(event) {
  const link = event.target.closest('a.pivot');
  if (!link || isNewTabClick(event)) return;
  event.preventDefault();
  const state = query.fromUrl(new URL(link.href).search);
  navigate(state, [...view.trail, state]);
}

// ---------------------------------------------------------------------------------------
// Exports.

function exportJsonLines() {
  download(`${baseName(view.lookup)}.jsonl`, jsonLines(shownRows()), 'application/x-ndjson');
}

function exportCsv() {
  download(`${baseName(view.lookup)}.csv`, csv(shownRows()), 'text/csv');
}

function toggleDnsdbq() {
  const box = $('dnsdbq-box');
  box.hidden = !box.hidden;
  $('show-dnsdbq').setAttribute('aria-expanded', String(!box.hidden));
  if (!box.hidden) $('dnsdbq').select();
}

// ---------------------------------------------------------------------------------------

/** The timeline fits the width it has: redrawn when the window resizes or it is opened. */
function redrawTimeline() {
  if (!$('results').hidden && $('timeline-box').open) renderTimeline($('timeline'), shownRows());
}

function onResize() {
  clearTimeout(onResize.timer);
  onResize.timer = setTimeout(redrawTimeline, 200);
}

function start() {
  $('key-form').addEventListener('submit', onKeySubmit);
  $('forget-key').addEventListener('click', onForgetKey);
  $('search').addEventListener('submit', onSearch);
  $('from').addEventListener('input', onDatePicked);
  $('to').addEventListener('input', onDatePicked);
  $('trail').addEventListener('click', onTrailClick);
  $('switch-dir').addEventListener('click', onSwitchDirection);
  $('rows').tHead.addEventListener('click', onSortClick);
  $('rows').tBodies[0].addEventListener('click', onRowsClick);
  $('load-more').addEventListener('click', loadMore);
  $('export-jsonl').addEventListener('click', exportJsonLines);
  $('export-csv').addEventListener('click', exportCsv);
  $('show-dnsdbq').addEventListener('click', toggleDnsdbq);
  $('timeline-box').addEventListener('toggle', redrawTimeline);
  window.addEventListener('resize', onResize);
  window.addEventListener('popstate', (event) => show(query.fromUrl(location.search), event.state?.trail));
  setupNovelty();
  if (apiKey.get()) {
    checkStoredKey();
  } else {
    askForKey();
  }
  // The trail of this entry survives a reload in history.state.
  show(query.fromUrl(location.search), history.state?.trail);
}

start();
