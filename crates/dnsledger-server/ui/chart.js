// Per-day charts for the statistics page: bars for counts, a line for shares. Every mark
// has a tooltip with its day and value, and each chart a text summary for screen readers.

import { number } from './format.js';
import { svgElement, svgText, titled } from './svg.js';

const HEIGHT = 190;
const LEFT = 64;
const RIGHT = 12;
const TOP = 12;
const BOTTOM = 26;
const DAY_MS = 86400 * 1000;
const MAX_BAR = 36;

/** Every day from `from` to `to` (`YYYY-MM-DD`, inclusive, UTC). */
export function daysBetween(from, to) {
  const days = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY_MS) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/** The plot's frame: width, the x of each day's slot, y of a value, and the slot width. */
function frame(container, days, max) {
  const width = Math.max(container.clientWidth, 480);
  const slot = (width - LEFT - RIGHT) / Math.max(days.length, 1);
  return {
    width,
    slot,
    x: (i) => LEFT + i * slot,
    y: (value) => TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / max),
  };
}

/** The y axis (0, half, max labels with gridlines) and the first and last day below. */
function axes(f, days, max, label) {
  const group = svgElement('g', { class: 'axis' });
  for (const value of [0, max / 2, max]) {
    const y = f.y(value);
    group.append(
      svgElement('line', { x1: LEFT, x2: f.width - RIGHT, y1: y, y2: y }),
      svgText(label(value), { x: LEFT - 6, y: y + 4, 'text-anchor': 'end' }),
    );
  }
  const bottom = HEIGHT - 8;
  group.append(svgText(days[0], { x: LEFT, y: bottom, 'text-anchor': 'start' }));
  if (days.length > 1) {
    group.append(svgText(days.at(-1), { x: f.width - RIGHT, y: bottom, 'text-anchor': 'end' }));
  }
  return group;
}

function chart(container, f, summary, parts) {
  const svg = svgElement('svg', {
    width: f.width,
    height: HEIGHT,
    viewBox: `0 0 ${f.width} ${HEIGHT}`,
    role: 'img',
    'aria-label': summary,
  });
  svg.append(...parts);
  container.replaceChildren(svg);
}

/**
 * Bars of `series[0]` per day with `series[1]` (a part of it) drawn inside them:
 * series = [{ name, values: Map(day -> count), className }].
 */
export function barChart(container, days, series, title) {
  const max = Math.max(1, ...series.flatMap((s) => [...s.values.values()]));
  const f = frame(container, days, max);
  const bars = series.flatMap((s, depth) =>
    days.flatMap((day, i) => {
      const value = s.values.get(day) ?? 0;
      if (value === 0) return [];
      // The inner series is half as wide; a few days' bars stay bars, not walls.
      const width = Math.max(1, Math.min(f.slot * 0.8, MAX_BAR) / (depth + 1));
      const rect = svgElement('rect', {
        class: s.className,
        x: f.x(i) + (f.slot - width) / 2,
        y: f.y(value),
        width,
        height: f.y(0) - f.y(value),
      });
      return [titled(rect, `${day}: ${number(value)} ${s.name}`)];
    }),
  );
  const totals = series.map((s) => `${number([...s.values.values()].reduce((a, b) => a + b, 0))} ${s.name}`);
  const summary = `${title}, ${days[0]} to ${days.at(-1)}: ${totals.join(', ')}`;
  chart(container, f, summary, [axes(f, days, max, (v) => number(Math.round(v))), ...bars]);
}

/** A share (0..1, or null on days without data) per day, as points joined by a line. */
export function shareChart(container, days, values, title, className) {
  const f = frame(container, days, 1);
  const points = days
    .map((day, i) => ({ day, i, share: values.get(day) }))
    .filter((p) => p.share !== undefined && p.share !== null);
  const at = (p) => [f.x(p.i) + f.slot / 2, f.y(p.share)];
  const line = svgElement('polyline', {
    class: `line ${className}`,
    points: points.map((p) => at(p).join(',')).join(' '),
  });
  const dots = points.map((p) => {
    const [cx, cy] = at(p);
    const dot = svgElement('circle', { class: `dot ${className}`, cx, cy, r: 3 });
    return titled(dot, `${p.day}: ${(p.share * 100).toFixed(1)} %`);
  });
  const last = points.at(-1);
  const summary = last
    ? `${title}, ${days[0]} to ${days.at(-1)}: ${(last.share * 100).toFixed(1)} % on ${last.day}`
    : `${title}: no data in this window`;
  chart(container, f, summary, [axes(f, days, 1, (v) => `${Math.round(v * 100)} %`), line, ...dots]);
}
