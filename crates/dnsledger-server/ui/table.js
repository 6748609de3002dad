// The results table: rows as the server sent them, sorted by any column, with every name
// and address a link that runs the next query.

import { age, iso, number, utc } from './format.js';
import { pivotPoint } from './rdata.js';

/**
 * A server object as a row: rdata always a list (rdata lookups send one string). The
 * activity the UI asks for is kept apart, so `obj` stays the DNSDB record that exports carry.
 */
export function toRow({ activity = null, ...obj }, index) {
  return {
    obj,
    index,
    rrname: obj.rrname,
    rrtype: obj.rrtype,
    rdata: Array.isArray(obj.rdata) ? obj.rdata : [obj.rdata],
    bailiwick: obj.bailiwick ?? '',
    count: obj.count,
    first: obj.time_first,
    last: obj.time_last,
    // The per-day histogram: { bucket_seconds, buckets: [[start, count], ...] }.
    activity,
  };
}

// Numbers inside text compare as numbers: 192.0.2.9 before 192.0.2.10.
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Names compare label by label from the root, as DNS orders them: com. < a.com. < b.a.com. */
function nameKey(name) {
  return name.toLowerCase().split('.').reverse().join('\u0000');
}

const byName = (field) => (a, b) => collator.compare(nameKey(a[field]), nameKey(b[field]));
const byNumber = (field) => (a, b) => a[field] - b[field];

const COMPARE = {
  rrname: byName('rrname'),
  rrtype: (a, b) => collator.compare(a.rrtype, b.rrtype),
  rdata: (a, b) => collator.compare(a.rdata.join(' '), b.rdata.join(' ')),
  bailiwick: byName('bailiwick'),
  count: byNumber('count'),
  first: byNumber('first'),
  last: byNumber('last'),
};

export function isSortKey(key) {
  return Object.hasOwn(COMPARE, key);
}

/** The rows in a column's order (ties keep the server's order); unsorted: the server's. */
export function sortRows(rows, key, descending) {
  const compare = COMPARE[key];
  if (!compare) return [...rows].sort((a, b) => a.index - b.index);
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => sign * compare(a, b) || a.index - b.index);
}

/**
 * Fills the table's body and marks the sorted column. `link(kind, value, rrtype)` makes a
 * pivot link: kind `history` (an owner name), `referrers` (what points at a name),
 * `address`, `server` (an NS/MX target) or `name` (any other name in rdata).
 */
export function renderTable(table, rows, sortKey, descending, link) {
  for (const th of table.tHead.querySelectorAll('th[data-sort]')) {
    if (th.dataset.sort === sortKey) {
      th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    } else {
      th.removeAttribute('aria-sort');
    }
  }
  table.tBodies[0].replaceChildren(...rows.map((row) => rowElement(row, link)));
}

function rowElement(row, link) {
  const tr = document.createElement('tr');
  tr.append(
    cell('name', link('history', row.rrname), ' ', link('referrers', row.rrname)),
    cell('type', row.rrtype),
    cell('rdata', rdataList(row, link)),
    cell('name bailiwick', row.bailiwick || '—'),
    cell('num', number(row.count)),
    cell('time', timeElement(row.first)),
    cell('time', timeElement(row.last)),
  );
  return tr;
}

function cell(className, ...content) {
  const td = document.createElement('td');
  td.className = className;
  td.append(...content);
  return td;
}

/** One line per record of the RRset, its name or address a link. */
function rdataList(row, link) {
  const list = document.createElement('ul');
  for (const rdata of row.rdata) {
    const item = document.createElement('li');
    const point = pivotPoint(row.rrtype, rdata);
    if (point) {
      item.append(point.before, link(point.kind, point.target, row.rrtype), point.after);
    } else {
      item.textContent = rdata;
    }
    list.append(item);
  }
  return list;
}

/** `2026-11-26 20:34:31` and, below it, how long ago. */
function timeElement(epoch) {
  const time = document.createElement('time');
  time.dateTime = iso(epoch);
  time.textContent = utc(epoch);
  const ago = document.createElement('span');
  ago.className = 'age';
  ago.textContent = age(epoch);
  const both = document.createDocumentFragment();
  both.append(time, ago);
  return both;
}
