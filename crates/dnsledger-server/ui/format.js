// Times and numbers as analysts read them: UTC to the second, with how long ago.

/** `2026-11-26 20:34:31` (UTC) from epoch seconds. */
export function utc(epoch) {
  return new Date(epoch * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** `2026-11-26T20:34:31Z`, for `<time datetime>` and exports. */
export function iso(epoch) {
  return `${utc(epoch).replace(' ', 'T')}Z`;
}

/** `2026-11-26` (UTC) from epoch seconds. */
export function day(epoch) {
  return utc(epoch).slice(0, 10);
}

const UNITS = [
  ['y', 365 * 86400],
  ['d', 86400],
  ['h', 3600],
  ['min', 60],
  ['s', 1],
];

/** "5 h ago", "3 d ago": the largest unit that fits; "in 2 min" when the clocks disagree. */
export function age(epoch, now = Date.now() / 1000) {
  const delta = Math.round(now - epoch);
  const magnitude = Math.abs(delta);
  const [unit, size] = UNITS.find(([, seconds]) => magnitude >= seconds) ?? ['s', 1];
  const amount = Math.floor(magnitude / size);
  return delta >= 0 ? `${amount} ${unit} ago` : `in ${amount} ${unit}`;
}

/** 12,345 */
export function number(value) {
  return value.toLocaleString('en-US');
}
