// The timeline: one bar per row from first to last seen, in the table's order, with its
// count, so that moves (one span ending as another starts) and fast flux (many short spans
// side by side) show at a glance. Inside each bar, the row's activity: one column per day
// (or per bucket of days for long-lived rows) it was seen, as tall as its share of the
// row's busiest bucket, so a span seen once at each end reads differently from one seen
// every day.

import { day, number, utc } from './format.js';
import { svgElement, svgText, titled } from './svg.js';

const ROW_HEIGHT = 22;
const AXIS_HEIGHT = 26;
const COUNT_WIDTH = 72;
/** Room for one time label on the axis. */
const TICK_SPACING = 120;
/** Colours by record type, each dark enough to read against white (contrast >= 4.5:1). */
const PALETTE = ['#1f5fa8', '#b4451b', '#2a7030', '#7a3d9f', '#a3245f', '#006f78', '#6b5a00', '#4d4d4d'];

/** Draws the rows into `container` (an SVG chart and a legend of the record types). */
export function renderTimeline(container, rows) {
  if (rows.length === 0) {
    container.replaceChildren();
    return;
  }
  const width = Math.max(container.clientWidth, 480);
  const layout = {
    width,
    labelWidth: Math.min(340, Math.round(width * 0.35)),
    plotRight: width - COUNT_WIDTH,
    range: timeRange(rows),
    colours: typeColours(rows),
  };
  const height = AXIS_HEIGHT + rows.length * ROW_HEIGHT + 4;
  const svg = svgElement('svg', {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': `Timeline of ${rows.length} rows, first to last seen, from ${utc(layout.range[0])} to ${utc(layout.range[1])} UTC`,
  });
  svg.append(axis(layout, height), ...rows.map((row, i) => bar(layout, row, i)));
  container.replaceChildren(svg, legend(layout.colours));
}

/** [earliest first seen, latest last seen], widened to a minute so a single instant shows. */
function timeRange(rows) {
  // A loop, not Math.min(...spread): "load more" can pile up more rows than a call takes.
  let [start, end] = [Infinity, -Infinity];
  for (const row of rows) {
    start = Math.min(start, row.first);
    end = Math.max(end, row.last);
  }
  if (end - start < 60) {
    const middle = (start + end) / 2;
    [start, end] = [middle - 30, middle + 30];
  }
  return [start, end];
}

function typeColours(rows) {
  const colours = new Map();
  for (const row of rows) {
    if (!colours.has(row.rrtype)) {
      colours.set(row.rrtype, PALETTE[colours.size % PALETTE.length]);
    }
  }
  return colours;
}

/** The x coordinate of a time. */
function x(layout, epoch) {
  const [start, end] = layout.range;
  const left = layout.labelWidth + 8;
  return left + ((epoch - start) / (end - start)) * (layout.plotRight - 8 - left);
}

/** Gridlines with UTC labels: times of day for short spans, dates for long ones. */
function axis(layout, height) {
  const [start, end] = layout.range;
  const label = end - start > 2 * 86400 ? day : (epoch) => utc(epoch).slice(11);
  const ticks = Math.min(6, Math.max(2, Math.floor((layout.plotRight - layout.labelWidth) / TICK_SPACING)));
  const group = svgElement('g', { class: 'axis' });
  for (let i = 0; i < ticks; i += 1) {
    const epoch = start + ((end - start) * i) / (ticks - 1);
    const at = x(layout, epoch);
    const anchor = i === 0 ? 'start' : i === ticks - 1 ? 'end' : 'middle';
    group.append(
      svgElement('line', { x1: at, x2: at, y1: AXIS_HEIGHT - 6, y2: height }),
      svgText(label(epoch), { x: at, y: AXIS_HEIGHT - 10, 'text-anchor': anchor }),
    );
  }
  return group;
}

/** One row: its label, its span (a bar, at least 3 px wide) and its count. */
function bar(layout, row, i) {
  const top = AXIS_HEIGHT + i * ROW_HEIGHT;
  const left = x(layout, row.first);
  const group = svgElement('g', { class: 'row' });
  const span = svgElement('rect', {
    class: 'span',
    x: left,
    y: top + 5,
    width: Math.max(3, x(layout, row.last) - left),
    height: ROW_HEIGHT - 10,
    fill: layout.colours.get(row.rrtype),
  });
  titled(span, `${row.rrname} ${row.rrtype} ${row.rdata.join(', ')}: ${utc(row.first)} to ${utc(row.last)} UTC, count ${number(row.count)}`);
  if (row.activity?.buckets.length) span.classList.add('with-activity');
  group.append(
    svgText(rowLabel(row, layout.labelWidth), { x: 4, y: top + ROW_HEIGHT - 7, class: 'label' }),
    span,
    ...activityColumns(layout, row, top),
    svgText(number(row.count), { x: layout.width - 4, y: top + ROW_HEIGHT - 7, 'text-anchor': 'end', class: 'count' }),
  );
  return group;
}

/** The row's activity buckets as columns inside its bar (none without an activity). */
function activityColumns(layout, row, top) {
  const activity = row.activity;
  if (!activity?.buckets.length) return [];
  const busiest = Math.max(...activity.buckets.map(([, count]) => count));
  const room = ROW_HEIGHT - 8;
  return activity.buckets.map(([start, count]) => {
    const from = Math.max(start, row.first);
    const to = Math.min(start + activity.bucket_seconds, row.last);
    const left = x(layout, from);
    // Square root: a bucket with a tenth of the busiest one's count stays visible.
    const height = Math.max(2, Math.round(room * Math.sqrt(count / busiest)));
    const column = svgElement('rect', {
      class: 'activity',
      x: left,
      y: top + 4 + room - height,
      width: Math.max(2, x(layout, to) - left),
      height,
      fill: layout.colours.get(row.rrtype),
    });
    const days = activity.bucket_seconds / 86400;
    return titled(column, `${day(start)}${days > 1 ? ` (+${days - 1} days)` : ''}: count ${number(count)}`);
  });
}

/** `www.example.com. A 192.0.2.1 +2`, shortened to what fits beside the bars. */
function rowLabel(row, labelWidth) {
  const more = row.rdata.length > 1 ? ` +${row.rdata.length - 1}` : '';
  const text = `${row.rrname} ${row.rrtype} ${row.rdata[0]}${more}`;
  const fits = Math.floor(labelWidth / 7.5); // 12 px monospace: about 7.2 px a character
  return text.length > fits ? `${text.slice(0, fits - 1)}…` : text;
}

function legend(colours) {
  const list = document.createElement('ul');
  list.className = 'legend';
  list.setAttribute('aria-label', 'Bar colours by record type');
  for (const [rrtype, colour] of colours) {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colour;
    item.append(swatch, rrtype);
    list.append(item);
  }
  return list;
}
