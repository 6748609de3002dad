// The "New domains" panel: registered domains and names the store has never seen before,
// from /api/v1/stream/new: the latest events of the log first, then live ones, newest on
// top. Read as NDJSON with fetch streaming (EventSource cannot send the API key).

import { followNdjson } from './api.js';
import { utc } from './format.js';

/** Events the table keeps; older ones leave it as new ones arrive. */
const MAX_ROWS = 500;
/** Events of the log shown when following starts. */
const BACKLOG = 200;

const $ = (id) => document.getElementById(id);

let controller = null;
let received = 0;

export function setupNovelty() {
  $('novelty-form').addEventListener('submit', (event) => {
    event.preventDefault();
    follow();
  });
  $('novelty-stop').addEventListener('click', stop);
}

function status(text) {
  $('novelty-status').textContent = text;
}

async function follow() {
  stop();
  const params = new URLSearchParams({ format: 'ndjson', tail: String(BACKLOG) });
  for (const suffix of $('novelty-suffix').value.split(/[\s,]+/).filter(Boolean)) {
    params.append('suffix', suffix);
  }
  const kind = $('novelty-kind').value;
  if (kind) params.set('kind', kind);
  if ($('novelty-watched').checked) params.set('watched', 'true');
  $('novelty-rows').tBodies[0].replaceChildren();
  received = 0;
  const own = new AbortController();
  controller = own;
  $('novelty-stop').disabled = false;
  status('Following: waiting for new names…');
  try {
    await followNdjson(`/api/v1/stream/new?${params}`, addEvent, own.signal);
    if (controller === own) status(`The server ended the feed after ${received} new names.`);
  } catch (error) {
    if (error.name !== 'AbortError') status(error.message);
  } finally {
    if (controller === own) {
      controller = null;
      $('novelty-stop').disabled = true;
    }
  }
}

function stop() {
  if (!controller) return;
  controller.abort();
  controller = null;
  $('novelty-stop').disabled = true;
  status(`Stopped after ${received} new names.`);
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function addEvent(event) {
  received += 1;
  const row = document.createElement('tr');
  row.dataset.seq = String(event.seq);
  const sighting = `${event.rrname} ${event.rrtype} ${event.rdata.join(' | ')}`;
  row.append(
    cell(utc(event.first_seen)),
    cell(event.kind),
    cell(event.name, 'name'),
    cell(sighting, 'rdata'),
    cell(event.bailiwick ?? '—'),
    cell((event.hits ?? []).map((hit) => `#${hit.rule} ${hit.text} (${hit.reason})`).join('; ') || '—'),
  );
  const body = $('novelty-rows').tBodies[0];
  body.prepend(row);
  while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
  status(`Following: ${received} new names so far.`);
}
