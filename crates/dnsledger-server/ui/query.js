// A search's state: what the URL carries (so every state has a permalink), what the server
// is asked for it, and the dnsdbq command line that asks the same.

import { day } from './format.js';

export const PAGE_SIZES = [25, 100, 500, 1000];
const WINDOWS = ['any', '7', '30', '365', 'dates'];
const DIRECTIONS = ['auto', 'rrset', 'rdata'];
const DAY = 86400;

/** Every field of a state, at its default; a URL names only the fields that differ. */
const DEFAULTS = Object.freeze({
  q: '',
  dir: 'auto', // auto: as /api/v1/interpret reads the text; rrset or rdata: forced
  type: '',
  bw: '',
  window: 'any', // any, the last 7/30/365 days, or the dates from..to
  from: '', // YYYY-MM-DD, UTC
  to: '', // YYYY-MM-DD, UTC, inclusive
  strict: false, // whole span within the window (dnsdbq -c) rather than overlapping it
  page: 100,
  n: 0, // rows loaded so far, when "load more" went past the first page
  sort: '', // a column key; '' = the server's order
  desc: false,
});

export function defaults() {
  return { ...DEFAULTS };
}

/** The state a URL's query string describes; anything unknown falls back to its default. */
export function fromUrl(search) {
  const params = new URLSearchParams(search);
  const text = (name) => params.get(name) ?? DEFAULTS[name];
  const state = defaults();
  for (const name of ['q', 'type', 'bw', 'from', 'to', 'sort']) state[name] = text(name);
  state.dir = DIRECTIONS.includes(text('dir')) ? text('dir') : DEFAULTS.dir;
  state.window = WINDOWS.includes(text('window')) ? text('window') : DEFAULTS.window;
  state.strict = params.get('strict') === '1';
  state.desc = params.get('desc') === '1';
  const page = Number(params.get('page'));
  state.page = PAGE_SIZES.includes(page) ? page : DEFAULTS.page;
  state.n = Math.max(0, Number.parseInt(params.get('n') ?? '0', 10) || 0);
  return state;
}

/** `?q=...&type=...`: the permalink's query string. */
export function toUrl(state) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(state)) {
    if (value === DEFAULTS[name]) continue;
    params.set(name, typeof value === 'boolean' ? '1' : String(value));
  }
  return `?${params}`;
}

/** A pivot: another query that keeps the time window and page size, with a fresh sort. */
export function pivot(from, q, dir, type = '') {
  return { ...from, q, dir, type, bw: '', n: 0, sort: '', desc: false };
}

/** A short description for the trail: `ns1.example.com. · rdata · NS`. */
export function describe(state) {
  return [state.q, state.dir === 'auto' ? '' : state.dir, state.type, state.bw]
    .filter(Boolean)
    .join(' · ');
}

/**
 * The lookup a state asks for, given the server's reading of its text ({form, value}):
 * {form, value, type, bailiwick}. A name is looked up as an owner unless the direction says
 * rdata; raw hex as rdata unless it says rrset; an address only ever as rdata.
 */
export function resolve(state, reading) {
  let form = reading.form;
  if (state.dir === 'rdata' && form === 'rrset/name') form = 'rdata/name';
  if (state.dir === 'rrset' && form === 'rdata/raw') form = 'rrset/raw';
  return {
    form,
    value: reading.value,
    type: state.type.trim().toUpperCase(),
    bailiwick: form === 'rrset/name' ? state.bw.trim() : '',
  };
}

/** The lookup in the other direction, or null when there is none (addresses). */
export function otherDirection(lookup) {
  const other = {
    'rrset/name': 'rdata',
    'rdata/name': 'rrset',
    'rdata/raw': 'rrset',
    'rrset/raw': 'rdata',
  };
  return other[lookup.form] ?? null;
}

/** `lookup/rrset/name/VALUE[/TYPE[/BAILIWICK]]`, each segment percent-encoded. */
export function apiPath(verb, lookup) {
  const segments = [verb, ...lookup.form.split('/'), lookup.value];
  if (lookup.type || lookup.bailiwick) segments.push(lookup.type || 'ANY');
  if (lookup.bailiwick) segments.push(lookup.bailiwick);
  return segments.map(encodeURIComponent).join('/');
}

/**
 * DNSDB's time fences for the state's window. By default an RRset matches when its span
 * overlaps the window (last seen after the start, first seen before the end); strict
 * matching wants the whole span inside (first seen after the start, last before the end).
 */
export function fences(state) {
  const [start, end] = windowBounds(state);
  const fence = {};
  if (start !== null) fence[state.strict ? 'time_first_after' : 'time_last_after'] = start;
  if (end !== null) fence[state.strict ? 'time_last_before' : 'time_first_before'] = end;
  return fence;
}

/** [start, end]: epoch seconds, negative = that long before now (DNSDB's relative form), null = open. */
function windowBounds(state) {
  if (['7', '30', '365'].includes(state.window)) return [-Number(state.window) * DAY, null];
  if (state.window === 'dates') return [dateEpoch(state.from), dateEpoch(state.to, 1)];
  return [null, null];
}

/** Midnight UTC of a `YYYY-MM-DD` date (plus some days), or null when there is no date. */
function dateEpoch(date, plusDays = 0) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return null;
  const [, year, month, dayOfMonth] = match.map(Number);
  return Date.UTC(year, month - 1, dayOfMonth + plusDays) / 1000;
}

const DNSDBQ_FORM_OPTION = {
  'rrset/name': '-r',
  'rdata/name': '-n',
  'rdata/ip': '-i',
  'rrset/raw': '-R',
  'rdata/raw': '-N',
};

/**
 * The dnsdbq command line that fetches the same rows: this server, the same form, type,
 * bailiwick and time fences, and as many rows as are shown (`-j`: the JSON lines export).
 * The key comes from the environment (DNSDB_API_KEY), never from the page.
 */
export function dnsdbqCommand(origin, state, lookup, rows) {
  const args = ['dnsdbq', '-u', 'dnsdb2', '-j', '-l', String(rows || state.page)];
  // dnsdbq refuses -t beside -i; an address lookup's type filter has no dnsdbq spelling.
  if (lookup.type && lookup.form !== 'rdata/ip') args.push('-t', lookup.type);
  if (lookup.bailiwick) args.push('-b', lookup.bailiwick);
  args.push(DNSDBQ_FORM_OPTION[lookup.form], lookup.value);
  const [start, end] = windowBounds(state);
  // dnsdbq reads YYYY-MM-DD as midnight UTC, as the fences above are computed.
  if (start !== null) args.push('-A', start < 0 ? String(start) : day(start));
  if (end !== null) args.push('-B', day(end));
  if (state.strict && (start !== null || end !== null)) args.push('-c');
  return `DNSDB_SERVER=${shellQuote(origin)} ${args.map(shellQuote).join(' ')}`;
}

/** Single quotes around anything a POSIX shell would otherwise interpret. */
function shellQuote(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
