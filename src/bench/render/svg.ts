/**
 * Inline SVG charts for the HTML report: a latency histogram and a
 * per-iteration timeline. Plain strings, no scripts, no external assets.
 */
import { percentileOfSorted } from '../percentiles.js';
import { tukeyOutliers } from '../statistics.js';
import { formatDuration } from '../units.js';
import { escapeXml } from './escape.js';

const WIDTH = 720;
const HEIGHT = 220;
const MARGIN = { left: 56, right: 16, top: 16, bottom: 36 } as const;
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;
/** Above this many points the timeline draws per-bucket ranges instead of every point. */
const TIMELINE_MAX_POINTS = 1500;
const TIMELINE_BUCKETS = 600;

const STEADY_COLOUR = '#2b6cb0';
const WARMUP_COLOUR = '#dd6b20';
const OVERFLOW_COLOUR = '#a0aec0';

function n(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

function text(x: number, y: number, content: string, anchor: 'start' | 'middle' | 'end' = 'middle', extra = ''): string {
  return `<text x="${n(x)}" y="${n(y)}" text-anchor="${anchor}" font-size="11"${extra}>${escapeXml(content)}</text>`;
}

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeXml(title)}" font-family="sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + PLOT_HEIGHT}" x2="${MARGIN.left + PLOT_WIDTH}" y2="${MARGIN.top + PLOT_HEIGHT}" stroke="#444"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + PLOT_HEIGHT}" stroke="#444"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/**
 * Where a latency axis ends: Tukey's far fence (Q3 + 3 IQR), so that rare
 * stalls of a busy machine, often a thousand times the median, do not squash
 * the distribution into one bar; never beyond the maximum.
 */
function axisEnd(sorted: Float64Array): number {
  const { q1, q3 } = tukeyOutliers(sorted);
  return Math.min(sorted[sorted.length - 1]!, q3 + 3 * (q3 - q1));
}

/** A vertical marker line with a label (e.g. p50). */
export interface ChartMarker {
  label: string;
  valueMs: number;
}

/**
 * Histogram of the samples: √n bins (5 to 60) from the minimum to Q3 + 3 IQR
 * (at most the maximum); slower samples are gathered in one grey overflow bar
 * so a few stalls cannot squash the distribution.
 */
export function histogramSvg(samplesMs: readonly number[], markers: readonly ChartMarker[], title: string): string {
  if (samplesMs.length === 0) return frame(title, [text(WIDTH / 2, HEIGHT / 2, 'no samples')]);
  const sorted = Float64Array.from(samplesMs).sort();
  const low = sorted[0]!;
  let high = axisEnd(sorted);
  if (high <= low) high = low + Math.max(1e-6, low * 0.01);
  const bins = Math.min(60, Math.max(5, Math.ceil(Math.sqrt(sorted.length))));
  const counts = new Array<number>(bins).fill(0);
  let overflow = 0;
  for (const value of sorted) {
    if (value > high) overflow += 1;
    else counts[Math.min(bins - 1, Math.floor(((value - low) / (high - low)) * bins))]! += 1;
  }
  const slots = overflow > 0 ? bins + 2 : bins;
  const slotWidth = PLOT_WIDTH / slots;
  const tallest = Math.max(1, overflow, ...counts);
  const y = (count: number): number => MARGIN.top + PLOT_HEIGHT - (count / tallest) * PLOT_HEIGHT;
  const xOf = (valueMs: number): number => MARGIN.left + ((valueMs - low) / (high - low)) * bins * slotWidth;
  const body: string[] = [];
  counts.forEach((count, bin) => {
    if (count === 0) return;
    const binLow = low + (bin / bins) * (high - low);
    const binHigh = low + ((bin + 1) / bins) * (high - low);
    body.push(`<rect x="${n(MARGIN.left + bin * slotWidth + 0.5)}" y="${n(y(count))}" width="${n(Math.max(0.5, slotWidth - 1))}" height="${n(MARGIN.top + PLOT_HEIGHT - y(count))}" fill="${STEADY_COLOUR}"><title>${escapeXml(`${formatDuration(binLow)}–${formatDuration(binHigh)}: ${count}`)}</title></rect>`);
  });
  if (overflow > 0) {
    const x = MARGIN.left + (bins + 1) * slotWidth;
    body.push(`<rect x="${n(x + 0.5)}" y="${n(y(overflow))}" width="${n(Math.max(0.5, slotWidth - 1))}" height="${n(MARGIN.top + PLOT_HEIGHT - y(overflow))}" fill="${OVERFLOW_COLOUR}"><title>${escapeXml(`slower than ${formatDuration(high)}: ${overflow}`)}</title></rect>`);
    body.push(text(x + slotWidth / 2, HEIGHT - 8, `>${formatDuration(high)}`, 'end'));
  }
  markers.forEach((marker, index) => {
    if (marker.valueMs < low || marker.valueMs > high) return;
    const x = xOf(marker.valueMs);
    body.push(`<line x1="${n(x)}" y1="${MARGIN.top}" x2="${n(x)}" y2="${MARGIN.top + PLOT_HEIGHT}" stroke="#c53030" stroke-dasharray="4 3"/>`);
    // Staggered, so the labels of close markers (p50 and p95 of a tight distribution) do not overlap.
    body.push(text(x + 3, MARGIN.top + 10 + 13 * index, `${marker.label} ${formatDuration(marker.valueMs)}`, 'start', ' fill="#c53030"'));
  });
  body.push(text(MARGIN.left, HEIGHT - 8, formatDuration(low), 'start'));
  if (overflow === 0) body.push(text(MARGIN.left + bins * slotWidth, HEIGHT - 8, formatDuration(high), 'end'));
  body.push(text(MARGIN.left - 6, MARGIN.top + 8, String(tallest), 'end'));
  body.push(text(MARGIN.left - 6, MARGIN.top + PLOT_HEIGHT, '0', 'end'));
  body.push(text(MARGIN.left + PLOT_WIDTH / 2, HEIGHT - 8, 'latency (runs per bin)'));
  return frame(title, body);
}

/**
 * Latency of every run in order: warm-up (orange) then steady state (blue).
 * Above 1,500 runs each of 600 buckets shows its min–max range and median.
 * The scale ends a little above Q3 + 3 IQR of the steady state; slower runs
 * are drawn at the top edge.
 */
export function timelineSvg(warmupMs: readonly number[], steadyMs: readonly number[], title: string): string {
  const all = [...warmupMs, ...steadyMs];
  if (all.length === 0) return frame(title, [text(WIDTH / 2, HEIGHT / 2, 'no samples')]);
  const sorted = Float64Array.from(steadyMs.length > 0 ? steadyMs : all).sort();
  const top = Math.max(1e-6, axisEnd(sorted) * 1.1);
  const x = (index: number): number => MARGIN.left + (all.length === 1 ? 0 : (index / (all.length - 1)) * PLOT_WIDTH);
  const y = (valueMs: number): number => MARGIN.top + PLOT_HEIGHT - (Math.min(valueMs, top) / top) * PLOT_HEIGHT;
  const colourAt = (index: number): string => (index < warmupMs.length ? WARMUP_COLOUR : STEADY_COLOUR);
  const body: string[] = [];
  if (all.length <= TIMELINE_MAX_POINTS) {
    const segments: { colour: string; points: string[] }[] = [];
    all.forEach((value, index) => {
      const colour = colourAt(index);
      const current = segments[segments.length - 1];
      const point = `${n(x(index))},${n(y(value))}`;
      if (current?.colour === colour) current.points.push(point);
      else segments.push({ colour, points: current === undefined ? [point] : [current.points[current.points.length - 1]!, point] });
    });
    for (const segment of segments) body.push(`<polyline fill="none" stroke="${segment.colour}" stroke-width="1" points="${segment.points.join(' ')}"/>`);
  } else {
    const bucketSize = all.length / TIMELINE_BUCKETS;
    const medians: { colour: string; point: string }[] = [];
    for (let bucket = 0; bucket < TIMELINE_BUCKETS; bucket++) {
      const from = Math.floor(bucket * bucketSize);
      const to = Math.max(from + 1, Math.floor((bucket + 1) * bucketSize));
      const values = Float64Array.from(all.slice(from, to)).sort();
      const middle = (from + to - 1) / 2;
      const colour = colourAt(from);
      body.push(`<line x1="${n(x(middle))}" y1="${n(y(values[0]!))}" x2="${n(x(middle))}" y2="${n(y(values[values.length - 1]!))}" stroke="${colour}" stroke-opacity="0.3"/>`);
      medians.push({ colour, point: `${n(x(middle))},${n(y(percentileOfSorted(values, 50)))}` });
    }
    for (const colour of [WARMUP_COLOUR, STEADY_COLOUR]) {
      const points = medians.filter((entry) => entry.colour === colour).map((entry) => entry.point);
      if (points.length > 0) body.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.2" points="${points.join(' ')}"/>`);
    }
  }
  if (warmupMs.length > 0 && steadyMs.length > 0) {
    const divider = x(warmupMs.length - 0.5);
    body.push(`<line x1="${n(divider)}" y1="${MARGIN.top}" x2="${n(divider)}" y2="${MARGIN.top + PLOT_HEIGHT}" stroke="#718096" stroke-dasharray="2 3"/>`);
    body.push(text(divider + 3, MARGIN.top + 10, 'steady state →', 'start', ' fill="#718096"'));
  }
  body.push(text(MARGIN.left - 6, MARGIN.top + 8, formatDuration(top), 'end'));
  body.push(text(MARGIN.left - 6, MARGIN.top + PLOT_HEIGHT, '0', 'end'));
  body.push(text(MARGIN.left, HEIGHT - 8, '1', 'start'));
  body.push(text(MARGIN.left + PLOT_WIDTH, HEIGHT - 8, all.length.toLocaleString('en-US'), 'end'));
  body.push(text(MARGIN.left + PLOT_WIDTH / 2, HEIGHT - 8, 'run (warm-up in orange, steady state in blue)'));
  return frame(title, body);
}
