// Talking to dnsledger from the page: the DNSDB API v2 and its SAF framing, and the native
// /api/v1 endpoints. Only relative URLs: the page never asks another origin.

const KEY_STORAGE = 'dnsledger.apiKey';

/** The API key, kept for this browser session only (sessionStorage, never the URL). */
export const apiKey = {
  get: () => sessionStorage.getItem(KEY_STORAGE),
  set: (value) => sessionStorage.setItem(KEY_STORAGE, value),
  forget: () => sessionStorage.removeItem(KEY_STORAGE),
};

/** What each of the server's error statuses means to the person at the page. */
const STATUS_MEANING = {
  400: 'The server cannot run this query',
  401: 'The server no longer accepts this API key (revoked, expired, or without the query scope)',
  403: 'The server does not accept this API key',
  404: 'Not found',
  415: 'The server cannot answer in this format',
  416: 'This API key may not page that far',
  429: 'This API key has used its quota; try again later',
  503: "The server is busy with this key's other queries; try again in a moment",
};

/** A refused request: its status (0 when the server could not be reached) and a message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }

  /** 401 and 403 say the key itself is the problem: ask for another one. */
  get isKeyProblem() {
    return this.status === 401 || this.status === 403;
  }
}

/** Starts a GET; the response once it is OK, or an ApiError with the server's message. */
async function request(path, { key = apiKey.get(), signal } = {}) {
  const headers = { Accept: 'application/x-ndjson, application/json' };
  if (key) headers['X-API-Key'] = key;
  let response;
  try {
    response = await fetch(path, { headers, signal, cache: 'no-store' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, `Cannot reach the server: ${error.message}`);
  }
  if (!response.ok) {
    const meaning = STATUS_MEANING[response.status] ?? `HTTP ${response.status}`;
    throw new ApiError(response.status, `${meaning}: ${(await response.text()).trim()}`);
  }
  return response;
}

/** GETs a path; the body as text, or an ApiError carrying the server's one-line message. */
async function get(path, options) {
  return (await request(path, options)).text();
}

/**
 * Follows an NDJSON stream, calling `onObject` for each line as it arrives, until the server
 * ends it or `signal` aborts. fetch streaming rather than EventSource, which cannot send
 * the key header.
 */
export async function followNdjson(path, onObject, signal) {
  const response = await request(path, { signal });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += value;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) if (line.trim()) onObject(JSON.parse(line));
  }
}

/** A SAF answer: its objects, and how it ended ({cond: succeeded|limited|failed, msg}). */
export function parseSaf(text) {
  const objects = [];
  let end = null;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line);
    if (entry.obj) objects.push(entry.obj);
    else if (entry.cond && entry.cond !== 'begin' && entry.cond !== 'ongoing') {
      end = { cond: entry.cond, msg: entry.msg ?? '' };
    }
  }
  // Every answer that started ends with a terminator; one without was cut off on the way.
  end ??= { cond: 'failed', msg: 'the answer was cut off before its end' };
  return { objects, end };
}

/** `/dnsdb/v2/PATH?PARAMS` (lookup or summarize), parsed. */
export async function dnsdb(path, params, signal) {
  const query = new URLSearchParams(params);
  return parseSaf(await get(`/dnsdb/v2/${path}?${query}`, { signal }));
}

/** What the search box's text stands for: {form, value, path}; 400 explains bad text. */
export async function interpret(text, signal) {
  const query = new URLSearchParams({ q: text });
  return JSON.parse(await get(`/api/v1/interpret?${query}`, { key: null, signal }));
}

/** The key's name, scopes and rate limits; refuses (403/401) a key the server rejects. */
export async function keyInfo(key) {
  return JSON.parse(await get('/api/v1/key', { key }));
}

/** The statistics pages' numbers for the last `days` days (one scan, cached by the server). */
export async function history(days) {
  const query = new URLSearchParams({ days });
  return JSON.parse(await get(`/api/v1/stats/history?${query}`));
}
