// Exports of the rows shown, in the table's order, as files made in the page (no request).

import { iso } from './format.js';

/** One object per line, exactly as the server sent it (dnsdbq -j prints the same). */
export function jsonLines(rows) {
  return rows.map((row) => `${JSON.stringify(row.obj)}\n`).join('');
}

const CSV_HEADER = ['rrname', 'rrtype', 'rdata', 'bailiwick', 'count', 'time_first', 'time_last'];

/**
 * RFC 4180 CSV, one line per row as in the table: an RRset's records share one field,
 * one per line inside its quotes (so the counts of the lines still add up), times in UTC.
 */
export function csv(rows) {
  const lines = [CSV_HEADER, ...rows.map(csvRecord)];
  return lines.map((fields) => `${fields.map(csvField).join(',')}\r\n`).join('');
}

function csvRecord(row) {
  return [row.rrname, row.rrtype, row.rdata.join('\n'), row.bailiwick, row.count, iso(row.first), iso(row.last)];
}

function csvField(value) {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Hands `text` to the browser as a download named `filename`. */
export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken the blob by the next task; release it then.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** A file name from the lookup: `dnsledger-rrset-name-www.example.com`. */
export function baseName(lookup) {
  const parts = [lookup.form, lookup.value, lookup.type, lookup.bailiwick].filter(Boolean);
  const name = parts.join('-').replace(/[^A-Za-z0-9.-]+/g, '-').replace(/\.(-|$)/g, '$1');
  return `dnsledger-${name}`;
}
