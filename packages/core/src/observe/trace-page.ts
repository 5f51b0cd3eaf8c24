/**
 * One self-contained HTML file showing a connection's trace: the state
 * diagram with the states it went through, the steps to walk through, the
 * time–sequence graph and cwnd/RTT over time. Styles, script, charts and
 * data are inline; the page loads nothing, and its Content-Security-Policy
 * forbids it to.
 */
import type { AnyStateMachine } from 'xstate';
import { tcpMachine } from '../tcp/machine.js';
import { chartStyles, formatBytes, renderRttChart, renderTimeSequenceChart, renderWindowChart } from './charts.js';
import { edgeKey, escapeXml, machineToSvg } from './diagram.js';
import { traceClient } from './page/client.js';
import type { Timeline, TimelineStep } from './timeline.js';

export interface TracePageOptions {
  readonly title: string;
  /** The machine whose diagram is drawn (default: the TCP machine). */
  readonly machine?: AnyStateMachine;
}

export const escapeHtml = escapeXml;

/**
 * JSON that can sit inside a `<script>` element: `<` is written as `\u003c`
 * (so neither `</script` nor `<!--` can appear), and so are the line
 * separators that old JavaScript parsers took for line ends.
 */
export const jsonForScript = (value: unknown): string =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/** The client function's source as an immediately called expression, safe inside `<script>`. */
const clientScript = (): string => `(${traceClient.toString()})(document);`.replace(/<\/(script)/gi, '<\\/$1');

const formatTime = (ms: number): string => (Math.abs(ms) >= 10_000 ? `${(ms / 1000).toFixed(3)} s` : `${ms.toFixed(3)} ms`);

const directionMark = (step: TimelineStep): string => {
  if (step.kind === 'state') return '◆';
  if (step.kind === 'event') return '•';
  return step.direction === 'out' ? '→' : '←';
};

const rowHtml = (step: TimelineStep): string => {
  const classes = [
    `kind-${step.kind}`,
    ...(step.direction ? [`dir-${step.direction}`] : []),
    ...(step.retransmission ? ['retransmission'] : []),
  ].join(' ');
  const note = step.retransmission ? ' <span class="tag">retransmission</span>' : '';
  return (
    `<tr data-step="${step.index}" class="${classes}" aria-selected="false">` +
    `<td class="index">${step.index + 1}</td>` +
    `<td class="time">${escapeHtml(formatTime(step.t))}</td>` +
    `<td class="dir" title="${step.direction === 'out' ? 'sent' : step.direction === 'in' ? 'received' : step.kind}">${directionMark(step)}</td>` +
    `<td class="summary">${escapeHtml(step.summary)}${note}</td>` +
    `<td class="state">${escapeHtml(step.state)}</td></tr>`
  );
};

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#18181b;background:#f4f4f5}
header{padding:12px 20px;background:#18181b;color:#fafafa}
header h1{margin:0 0 4px;font-size:18px}
header .facts{font-size:13px;color:#d4d4d8}
header .path{font-size:13px;color:#93c5fd;margin-top:2px}
main{display:grid;grid-template-columns:minmax(380px,1fr) minmax(420px,1.1fr);gap:14px;padding:14px}
section{background:#fff;border:1px solid #e4e4e7;border-radius:8px;padding:10px 12px;min-width:0}
section h2{font-size:14px;margin:0 0 8px;color:#3f3f46}
#diagram svg{width:100%;height:auto;display:block}
.steps-panel{display:flex;flex-direction:column;max-height:calc(100vh - 120px);min-height:420px}
.controls{display:flex;gap:6px;align-items:center;flex-wrap:wrap;margin-bottom:6px}
button{font:inherit;font-size:13px;padding:3px 10px;border:1px solid #a1a1aa;border-radius:5px;background:#fafafa;cursor:pointer}
button:hover{background:#e4e4e7}
button[aria-pressed="true"]{background:#1d4ed8;color:#fff;border-color:#1d4ed8}
#position{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;color:#1e3a8a;background:#eff6ff;border-radius:5px;padding:4px 8px;margin-bottom:6px;min-height:2.6em;word-break:break-word}
.steps-scroll{overflow:auto;flex:1;border:1px solid #e4e4e7;border-radius:5px}
table{border-collapse:collapse;width:100%;font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
td{padding:2px 6px;border-bottom:1px solid #f4f4f5;vertical-align:top;white-space:nowrap}
td.summary{white-space:normal;word-break:break-word}
td.index,td.time{color:#71717a;text-align:right}
td.dir{text-align:center}
tr{cursor:pointer}
tr:hover{background:#fafafa}
tr.kind-state{background:#f5f3ff;font-weight:600}
tr.kind-event td.summary{color:#52525b;font-style:italic}
tr.dir-out td.dir{color:#2563eb}
tr.dir-in td.dir{color:#16a34a}
tr.retransmission td.summary{color:#dc2626}
tr.selected,tr.selected:hover{background:#bfdbfe}
.tag{font-size:10px;background:#fee2e2;color:#b91c1c;border-radius:3px;padding:0 4px;margin-left:4px}
.wide{grid-column:1/-1}
.chart-row{display:grid;grid-template-columns:1fr 1fr;gap:14px}
.hint{font-size:12px;color:#71717a;margin:4px 0 0}
`;

/** Renders the whole page. Every string from the timeline is escaped; the data is also embedded as JSON. */
export const renderTracePage = (timeline: Timeline, options: TracePageOptions): string => {
  const machine = options.machine ?? tcpMachine;
  const lastTransition = timeline.transitions[timeline.transitions.length - 1];
  const diagram = machineToSvg(machine, {
    idPrefix: 'sd-',
    namespace: false,
    title: 'Connection state diagram (RFC 9293 Figure 5)',
    highlight: [...timeline.statesVisited, ...timeline.transitions.map((t) => edgeKey(t.from, t.to))],
    current: [timeline.finalState, ...(lastTransition ? [edgeKey(lastTransition.from, lastTransition.to)] : [])],
  });
  // Charts span the segments; a long TIME-WAIT after the last one would squeeze them into a corner.
  const lastSegment = [...timeline.steps].reverse().find((step) => step.kind === 'segment');
  const span = lastSegment && lastSegment.t > 0 ? lastSegment.t : timeline.duration;
  const shown = timeline.counts.bytesOut >= timeline.counts.bytesIn ? 'sent' : 'received';
  const c = timeline.counts;
  const ports =
    timeline.localPort !== null ? `local port ${timeline.localPort} ↔ remote port ${timeline.remotePort ?? '?'}` : 'no segments';
  const facts = [
    ports,
    `${c.segmentsOut} segments sent (${formatBytes(c.bytesOut)} bytes), ${c.segmentsIn} received (${formatBytes(c.bytesIn)} bytes)`,
    `retransmissions: ${c.retransmissionsOut} sent, ${c.retransmissionsIn} received`,
    `duration ${formatTime(timeline.duration)}`,
  ].join(' · ');
  const tsg = (direction: 'sent' | 'received', title: string): string =>
    `<div data-direction="${direction}"${direction === shown ? '' : ' hidden'}>${renderTimeSequenceChart(timeline[direction], span, {
      idPrefix: `tsg-${direction}-`,
      title,
      height: 340,
    })}</div>`;

  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Nothing may be fetched: the page is one file that must work offline.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(options.title)}</title>`,
    `<style>${STYLE}${chartStyles('.charts')}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${escapeHtml(options.title)}</h1>`,
    `<div class="facts">${escapeHtml(facts)}</div>`,
    `<div class="path">${escapeHtml(timeline.statesVisited.join(' → '))}</div>`,
    '</header>',
    '<main>',
    `<section id="diagram"><h2>State diagram</h2>${diagram}</section>`,
    '<section class="steps-panel">',
    '<h2>Steps</h2>',
    '<div class="controls">',
    '<button type="button" id="first" title="First step (Home)">« First</button>',
    '<button type="button" id="prev" title="Previous step (↑ or ←)">‹ Prev</button>',
    '<button type="button" id="next" title="Next step (↓ or →)">Next ›</button>',
    '<button type="button" id="last" title="Last step (End)">Last »</button>',
    '</div>',
    '<div id="position" aria-live="polite"></div>',
    '<div class="steps-scroll">',
    '<table><thead><tr><th>#</th><th>time</th><th></th><th>segment or event</th><th>state after</th></tr></thead>',
    `<tbody id="steps">${timeline.steps.map(rowHtml).join('\n')}</tbody></table>`,
    '</div>',
    '<p class="hint">Arrow keys, Home/End and PageUp/PageDown step through; click a row or a chart to jump.</p>',
    '</section>',
    '<section class="charts wide">',
    '<h2>Time–sequence graph</h2>',
    '<div class="controls">',
    `<button type="button" data-show-direction="sent" aria-pressed="${shown === 'sent'}">Data we sent</button>`,
    `<button type="button" data-show-direction="received" aria-pressed="${shown === 'received'}">Data we received</button>`,
    '</div>',
    tsg('sent', 'Sequence numbers we sent, with the ACKs and windows the peer returned'),
    tsg('received', 'Sequence numbers the peer sent, with the ACKs and windows we returned'),
    '</section>',
    '<section class="charts wide">',
    '<h2>Congestion window and RTT</h2>',
    '<div class="chart-row">',
    `<div>${renderWindowChart(timeline.metrics, span, { idPrefix: 'cwnd-', title: 'cwnd, ssthresh and bytes in flight', width: 600 })}</div>`,
    `<div>${renderRttChart(timeline.metrics, span, { idPrefix: 'rtt-', title: 'Smoothed RTT and RTO', width: 600 })}</div>`,
    '</div>',
    '</section>',
    '</main>',
    `<script type="application/json" id="trace-data">${jsonForScript(timeline)}</script>`,
    `<script>${clientScript()}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
};
