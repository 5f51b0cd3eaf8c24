/**
 * Pre-rendered SVG charts of a timeline: the time–sequence graph (data sent as
 * vertical bars, retransmissions in another colour, the ACK line, the
 * advertised window's right edge and SACK blocks, as tcptrace draws them), and
 * cwnd/ssthresh/flight and SRTT/RTO over time.
 *
 * Every chart has a `cursor` line and `data-t0/t1/x0/x1` on its root, so a
 * page script can move the cursor to a time without knowing the scales.
 */
import { escapeXml } from './diagram.js';
import type { MetricsPoint, TimeSequenceSeries } from './timeline.js';

export interface ChartOptions {
  readonly width?: number;
  readonly height?: number;
  readonly title?: string;
  /** Prefix for element ids (the clip path), so several charts can share a page. */
  readonly idPrefix?: string;
  /** Extra class on the root element. */
  readonly className?: string;
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  readonly t1: number;
  readonly yMin: number;
  readonly yMax: number;
}

const PAD = { left: 72, right: 16, top: 30, bottom: 40 };

/** The largest of the values picked from `items`, and at least `floor`; a loop, as long traces overflow `Math.max(...)`. */
const maxOf = <T>(items: readonly T[], pick: (item: T) => number, floor = 0): number => {
  let max = floor;
  for (const item of items) {
    const v = pick(item);
    if (v > max) max = v;
  }
  return max;
};

const fmt = (n: number): string => (Math.round(n * 10) / 10).toString();

const makeFrame = (options: ChartOptions, duration: number, yMin: number, yMax: number): Frame => {
  const width = options.width ?? 900;
  const height = options.height ?? 300;
  return {
    width,
    height,
    left: PAD.left,
    right: width - PAD.right,
    top: PAD.top,
    bottom: height - PAD.bottom,
    t1: duration > 0 ? duration : 1,
    yMin,
    yMax: yMax > yMin ? yMax : yMin + 1,
  };
};

const xOf = (f: Frame, t: number): number => f.left + (t / f.t1) * (f.right - f.left);
const yOf = (f: Frame, v: number): number => f.bottom - ((v - f.yMin) / (f.yMax - f.yMin)) * (f.bottom - f.top);

/** About `count` round tick values between min and max. */
export const niceTicks = (min: number, max: number, count = 5): number[] => {
  if (!(max > min)) return [min];
  const rough = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step); k * step <= max + step * 1e-9 && ticks.length < 50; k++) {
    const tick = k * step;
    // Floating point may put a tick a hair outside the range; such a tick is dropped.
    if (tick >= min - step * 1e-3 && tick <= max + step * 1e-3) ticks.push(tick);
  }
  return ticks.length > 0 ? ticks : [min];
};

export const formatBytes = (bytes: number): string => {
  const abs = Math.abs(bytes);
  if (abs >= 1e9) return `${+(bytes / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${+(bytes / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${+(bytes / 1e3).toFixed(1)}k`;
  return `${Math.round(bytes)}`;
};

export const formatMs = (ms: number): string => (Math.abs(ms) >= 10_000 ? `${+(ms / 1000).toFixed(2)} s` : `${+ms.toFixed(1)} ms`);

const axes = (f: Frame, yFormat: (v: number) => string, yLabel: string): string => {
  const out: string[] = [];
  for (const v of niceTicks(f.yMin, f.yMax)) {
    const y = yOf(f, v);
    out.push(
      `<line class="grid" x1="${fmt(f.left)}" y1="${fmt(y)}" x2="${fmt(f.right)}" y2="${fmt(y)}"/>`,
      `<text class="tick" x="${fmt(f.left - 6)}" y="${fmt(y + 3.5)}" text-anchor="end">${escapeXml(yFormat(v))}</text>`,
    );
  }
  for (const t of niceTicks(0, f.t1, 8)) {
    const x = xOf(f, t);
    out.push(
      `<line class="grid" x1="${fmt(x)}" y1="${fmt(f.top)}" x2="${fmt(x)}" y2="${fmt(f.bottom)}"/>`,
      `<text class="tick" x="${fmt(x)}" y="${fmt(f.bottom + 14)}" text-anchor="middle">${escapeXml(formatMs(t))}</text>`,
    );
  }
  out.push(
    `<rect class="plot" x="${fmt(f.left)}" y="${fmt(f.top)}" width="${fmt(f.right - f.left)}" height="${fmt(f.bottom - f.top)}"/>`,
    `<text class="axis-label" x="${fmt((f.left + f.right) / 2)}" y="${fmt(f.height - 6)}" text-anchor="middle">time since the first step</text>`,
    `<text class="axis-label" transform="translate(14 ${fmt((f.top + f.bottom) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`,
  );
  return out.join('');
};

const legend = (f: Frame, entries: ReadonlyArray<readonly [string, string]>): string => {
  let x = f.left;
  const out: string[] = [];
  for (const [className, text] of entries) {
    out.push(
      `<line class="${className}" x1="${fmt(x)}" y1="${fmt(f.top - 12)}" x2="${fmt(x + 18)}" y2="${fmt(f.top - 12)}"/>`,
      `<text class="legend" x="${fmt(x + 22)}" y="${fmt(f.top - 8)}">${escapeXml(text)}</text>`,
    );
    x += 30 + text.length * 6.2;
  }
  return out.join('');
};

/** A line that holds each value until the next one, as a counter or a window does. */
const stepPath = (f: Frame, points: ReadonlyArray<{ readonly t: number; readonly v: number }>, endT?: number): string => {
  if (points.length === 0) return '';
  const parts: string[] = [];
  points.forEach((p, i) => {
    const x = xOf(f, p.t);
    const y = yOf(f, p.v);
    parts.push(i === 0 ? `M${fmt(x)},${fmt(y)}` : `H${fmt(x)}V${fmt(y)}`);
  });
  if (endT !== undefined) parts.push(`H${fmt(xOf(f, endT))}`);
  return parts.join('');
};

const openChart = (f: Frame, options: ChartOptions, kind: string, clipId: string): string =>
  [
    `<svg class="chart ${kind}${options.className ? ` ${escapeXml(options.className)}` : ''}" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}"`,
    ` data-t0="0" data-t1="${f.t1}" data-x0="${fmt(f.left)}" data-x1="${fmt(f.right)}" role="img" aria-label="${escapeXml(options.title ?? kind)}">`,
    `<title>${escapeXml(options.title ?? kind)}</title>`,
    `<defs><clipPath id="${clipId}"><rect x="${fmt(f.left)}" y="${fmt(f.top)}" width="${fmt(f.right - f.left)}" height="${fmt(f.bottom - f.top)}"/></clipPath></defs>`,
  ].join('');

const cursor = (f: Frame): string =>
  `<line class="cursor" x1="${fmt(f.left)}" y1="${fmt(f.top)}" x2="${fmt(f.left)}" y2="${fmt(f.bottom)}"/>`;

/**
 * The time–sequence graph of one direction of data. The y axis is the
 * sequence number relative to the sender's ISN; the window line may leave the
 * plot when the window is much larger than the data, and is clipped then.
 */
export const renderTimeSequenceChart = (series: TimeSequenceSeries, duration: number, options: ChartOptions = {}): string => {
  const dataTop = Math.max(maxOf(series.data, (d) => d.end), maxOf(series.acks, (a) => a.ack));
  const windowTop = maxOf(series.acks, (a) => a.windowEdge);
  // Keep the window in view when it is of the data's size; clip it when it would flatten the data.
  const windowClipped = windowTop > dataTop * 2;
  const yMax = windowClipped ? dataTop * 1.1 : Math.max(dataTop, windowTop);
  const f = makeFrame(options, duration, 0, yMax);
  const clipId = `${options.idPrefix ?? 'tsg-'}clip`;
  const bar = (d: { t: number; start: number; end: number }): string => {
    const x = xOf(f, d.t);
    const y1 = yOf(f, d.start);
    const y2 = yOf(f, d.end);
    // An I-beam: the range as a vertical bar with short serifs.
    return `M${fmt(x)},${fmt(y1)}V${fmt(y2)}M${fmt(x - 2)},${fmt(y1)}H${fmt(x + 2)}M${fmt(x - 2)},${fmt(y2)}H${fmt(x + 2)}`;
  };
  const fresh = series.data.filter((d) => !d.retransmission).map(bar).join('');
  const resent = series.data.filter((d) => d.retransmission).map(bar).join('');
  const sacks = series.sacks
    .map((s) => `M${fmt(xOf(f, s.t) + 1.5)},${fmt(yOf(f, s.left))}V${fmt(yOf(f, s.right))}`)
    .join('');
  const acks = stepPath(f, series.acks.map((a) => ({ t: a.t, v: a.ack })), duration);
  const windows = stepPath(f, series.acks.map((a) => ({ t: a.t, v: a.windowEdge })), duration);
  const empty =
    series.data.length === 0 && series.acks.length === 0
      ? `<text class="empty" x="${fmt((f.left + f.right) / 2)}" y="${fmt((f.top + f.bottom) / 2)}" text-anchor="middle">no data in this direction</text>`
      : '';
  return [
    openChart(f, options, 'time-sequence', clipId),
    axes(f, formatBytes, 'relative sequence number'),
    legend(f, [
      ['data', 'data sent'],
      ['retransmission', 'retransmitted'],
      ['ack', 'ACK'],
      ['window', 'ACK + window'],
      ['sack', 'SACK'],
    ]),
    `<g clip-path="url(#${clipId})">`,
    `<path class="window" d="${windows}"/>`,
    `<path class="ack" d="${acks}"/>`,
    `<path class="sack" d="${sacks}"/>`,
    `<path class="data" d="${fresh}"/>`,
    `<path class="retransmission" d="${resent}"/>`,
    '</g>',
    empty,
    windowClipped && series.data.length > 0
      ? `<text class="note" x="${fmt(f.right - 6)}" y="${fmt(f.top + 14)}" text-anchor="end">window edge above the plot (up to ${escapeXml(formatBytes(windowTop))})</text>`
      : '',
    cursor(f),
    '</svg>',
  ].join('');
};

/** cwnd, ssthresh and bytes in flight over time. */
export const renderWindowChart = (metrics: readonly MetricsPoint[], duration: number, options: ChartOptions = {}): string => {
  const top = maxOf(metrics, (m) => Math.max(m.cwnd, m.flight ?? 0, m.ssthresh ?? 0));
  const cwndTop = maxOf(metrics, (m) => Math.max(m.cwnd, m.flight ?? 0));
  const f = makeFrame({ height: 240, ...options }, duration, 0, top <= cwndTop * 2 ? top : cwndTop * 1.2);
  const clipId = `${options.idPrefix ?? 'cwnd-'}clip`;
  const series = (pick: (m: MetricsPoint) => number | null): string =>
    stepPath(
      f,
      metrics.flatMap((m) => {
        const v = pick(m);
        return v === null ? [] : [{ t: m.t, v }];
      }),
    );
  return [
    openChart(f, options, 'window-chart', clipId),
    axes(f, formatBytes, 'bytes'),
    legend(f, [
      ['cwnd', 'cwnd'],
      ['ssthresh', 'ssthresh'],
      ['flight', 'in flight'],
    ]),
    `<g clip-path="url(#${clipId})">`,
    `<path class="flight" d="${series((m) => m.flight)}"/>`,
    `<path class="ssthresh" d="${series((m) => m.ssthresh)}"/>`,
    `<path class="cwnd" d="${series((m) => m.cwnd)}"/>`,
    '</g>',
    metrics.length === 0 ? noMetrics(f) : '',
    cursor(f),
    '</svg>',
  ].join('');
};

/** Smoothed RTT and the retransmission timeout over time. */
export const renderRttChart = (metrics: readonly MetricsPoint[], duration: number, options: ChartOptions = {}): string => {
  const srttTop = maxOf(metrics, (m) => m.srtt ?? 0);
  const rtoTop = maxOf(metrics, (m) => m.rto);
  // The RTO's floor (200 ms or more) would flatten a LAN's SRTT to the axis: clip the RTO then.
  const rtoClipped = srttTop > 0 && rtoTop > 4 * srttTop;
  const f = makeFrame({ height: 240, ...options }, duration, 0, rtoClipped ? srttTop * 1.5 : Math.max(srttTop, rtoTop));
  const clipId = `${options.idPrefix ?? 'rtt-'}clip`;
  const line = (pick: (m: MetricsPoint) => number | null): string =>
    stepPath(
      f,
      metrics.flatMap((m) => {
        const v = pick(m);
        return v === null ? [] : [{ t: m.t, v }];
      }),
    );
  return [
    openChart(f, options, 'rtt-chart', clipId),
    axes(f, formatMs, 'milliseconds'),
    legend(f, [
      ['srtt', 'SRTT'],
      ['rto', 'RTO'],
    ]),
    `<g clip-path="url(#${clipId})">`,
    `<path class="rto" d="${line((m) => m.rto)}"/>`,
    `<path class="srtt" d="${line((m) => m.srtt)}"/>`,
    '</g>',
    metrics.length === 0 ? noMetrics(f) : '',
    rtoClipped
      ? `<text class="note" x="${fmt(f.right - 6)}" y="${fmt(f.top + 14)}" text-anchor="end">RTO above the plot (up to ${escapeXml(formatMs(rtoTop))})</text>`
      : '',
    cursor(f),
    '</svg>',
  ].join('');
};

function noMetrics(f: Frame): string {
  return `<text class="empty" x="${fmt((f.left + f.right) / 2)}" y="${fmt((f.top + f.bottom) / 2)}" text-anchor="middle">no metrics were sampled</text>`;
}

/** CSS for the charts, scoped under `scope` (a selector of their container). */
export const chartStyles = (scope: string): string =>
  [
    `${scope} .chart{width:100%;height:auto;background:#fff;cursor:crosshair}`,
    `${scope} .chart .plot{fill:none;stroke:#a1a1aa}`,
    `${scope} .chart .grid{stroke:#f1f1f3}`,
    `${scope} .chart .tick,${scope} .chart .legend{font:10px sans-serif;fill:#52525b}`,
    `${scope} .chart .axis-label{font:11px sans-serif;fill:#3f3f46}`,
    `${scope} .chart .empty{font:13px sans-serif;fill:#a1a1aa}`,
    `${scope} .chart .note{font:11px sans-serif;fill:#a16207}`,
    `${scope} .chart path,${scope} .chart line{fill:none;stroke-width:1.2}`,
    `${scope} .chart .data{stroke:#18181b}`,
    `${scope} .chart .retransmission{stroke:#dc2626;stroke-width:2}`,
    `${scope} .chart .ack{stroke:#16a34a}`,
    `${scope} .chart .window{stroke:#ca8a04}`,
    `${scope} .chart .sack{stroke:#9333ea;stroke-width:2}`,
    `${scope} .chart .cwnd{stroke:#2563eb;stroke-width:1.6}`,
    `${scope} .chart .ssthresh{stroke:#ea580c;stroke-dasharray:5 3}`,
    `${scope} .chart .flight{stroke:#71717a}`,
    `${scope} .chart .srtt{stroke:#0891b2;stroke-width:1.6}`,
    `${scope} .chart .rto{stroke:#be185d;stroke-dasharray:5 3}`,
    `${scope} .chart .cursor{stroke:#dc2626;stroke-width:1;stroke-dasharray:3 2}`,
  ].join('\n');
