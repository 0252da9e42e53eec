// Sparklines: a small inline SVG line for a handful of points.
//
// The dashboard needs two tiny charts per indicator (value by year; value as the current year's
// reports arrived), a few dozen points at most. That is forty lines of SVG, so no chart library:
// nothing to vendor, nothing to build, and the page stays a few kilobytes.

import {svg} from './dom.js';

const WIDTH = 120;
const HEIGHT = 36;
const PAD = 4;

// points: [{label, value}] in order (value may be null: the line breaks there).
// options.label: accessible name; options.format(value): how to read a value aloud;
// options.reference: a level to draw as a dashed line (the target) when it is in range.
export function sparkline(points, options = {}) {
  const values = points.map((p) => p.value).filter(Number.isFinite);
  let low = Math.min(...values);
  let high = Math.max(...values);
  const reference = options.reference;
  const showReference = Number.isFinite(reference)
    && reference >= low - (high - low) && reference <= high + (high - low);
  if (showReference) {
    low = Math.min(low, reference);
    high = Math.max(high, reference);
  }
  if (high === low) {
    const spread = Math.abs(high) * 0.1 || 1;
    low -= spread;
    high += spread;
  }
  const x = (i) => PAD + (points.length > 1 ? (i * (WIDTH - 2 * PAD)) / (points.length - 1) : (WIDTH - 2 * PAD) / 2);
  const y = (v) => HEIGHT - PAD - ((v - low) / (high - low)) * (HEIGHT - 2 * PAD);

  let path = '';
  let pen = 'M';
  points.forEach((p, i) => {
    if (!Number.isFinite(p.value)) {
      pen = 'M';
      return;
    }
    path += `${pen}${x(i).toFixed(1)} ${y(p.value).toFixed(1)} `;
    pen = 'L';
  });

  const format = options.format || String;
  const spoken = points
    .filter((p) => Number.isFinite(p.value))
    .map((p) => `${p.label} ${format(p.value)}`)
    .join('，');
  const last = points.length - 1;
  return svg('svg', {
    class: 'spark', width: WIDTH, height: HEIGHT, viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img', 'aria-label': `${options.label || ''}: ${spoken}`,
  },
  svg('title', {}, `${options.label || ''}: ${spoken}`),
  showReference ? svg('line', {
    class: 'spark-ref', x1: PAD, x2: WIDTH - PAD, y1: y(reference).toFixed(1), y2: y(reference).toFixed(1),
  }) : null,
  svg('path', {class: 'spark-line', d: path.trim()}),
  points.map((p, i) => (Number.isFinite(p.value)
    ? svg('circle', {class: i === last ? 'spark-dot last' : 'spark-dot', cx: x(i).toFixed(1),
      cy: y(p.value).toFixed(1), r: i === last ? 3 : 2})
    : null)));
}
