import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../stack/host-types.js';
import { TcpFlag } from '../wire/tcp-types.js';
import { niceTicks } from './charts.js';
import { traceClient } from './page/client.js';
import { lossyTransferTimeline } from './testing/two-hosts.js';
import { xmlProblem } from './testing/xml-check.js';
import { type Timeline, buildTimeline } from './timeline.js';
import { jsonForScript, renderTracePage } from './trace-page.js';

const transferTimeline = (): Timeline => lossyTransferTimeline();

const embeddedJson = (page: string): unknown => {
  const match = /<script type="application\/json" id="trace-data">([\s\S]*?)<\/script>/.exec(page);
  if (!match) throw new Error('no JSON data in the page');
  return JSON.parse(match[1]!);
};

describe('renderTracePage', () => {
  const timeline = transferTimeline();
  const page = renderTracePage(timeline, { title: 'A 40 kB transfer with two losses' });

  it('is one HTML document that refers to nothing outside itself', () => {
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page.trimEnd().endsWith('</html>')).toBe(true);
    for (const reference of ['http://', 'https://', 'src=', 'href=', '@import', '<link', '<img', '<iframe', '//cdn', 'xlink:']) {
      expect(page, reference).not.toContain(reference);
    }
    // Every url(...) is a fragment of this document (markers, clip paths).
    for (const match of page.matchAll(/url\(([^)]*)\)/g)) expect(match[1]!.startsWith('#')).toBe(true);
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    expect(page.match(/<script/g)).toHaveLength(2);
    // The page's own and the diagram's.
    expect(page.match(/<style>/g)).toHaveLength(2);
  });

  it('holds every state the connection went through, in the header, the rows and the diagram', () => {
    expect(timeline.statesVisited.length).toBeGreaterThanOrEqual(6);
    for (const state of timeline.statesVisited) {
      expect(page).toContain(`<td class="state">${state}</td>`);
      expect(page).toMatch(new RegExp(`<g class="state[^"]*highlight[^"]*" data-state="${state}">`));
    }
    expect(page).toContain(`<div class="path">${timeline.statesVisited.join(' → ')}</div>`);
    // The final state is the current one until the script selects a step.
    expect(page).toMatch(new RegExp(`<g class="state[^"]*current[^"]*" data-state="${timeline.finalState}">`));
  });

  it('embeds the timeline as JSON with every step, and one row per step', () => {
    const data = embeddedJson(page) as Timeline;
    expect(data.steps).toHaveLength(timeline.steps.length);
    expect(data).toEqual(JSON.parse(JSON.stringify(timeline)));
    expect(page.match(/<tr data-step="/g)).toHaveLength(timeline.steps.length);
    expect(page.match(/<tr data-step="\d+" class="[^"]*retransmission/g)?.length).toBe(timeline.counts.retransmissionsOut);
  });

  it('draws the charts, retransmissions apart, with cursors to move', () => {
    expect(page).toMatch(/<path class="retransmission" d="M[^"]+"/);
    expect(page).toMatch(/<path class="ack" d="M[^"]+"/);
    expect(page).toMatch(/<path class="window" d="M[^"]+"/);
    expect(page).toMatch(/<path class="cwnd" d="M[^"]+"/);
    expect(page).toMatch(/<path class="srtt" d="M[^"]+"/);
    expect(page.match(/<line class="cursor"/g)).toHaveLength(4);
    for (const svg of page.match(/<svg[\s\S]*?<\/svg>/g) ?? []) expect(xmlProblem(svg)).toBeUndefined();
  });

  it('inlines a script that stands alone', () => {
    const source = traceClient.toString();
    expect(source.startsWith('function traceClient(')).toBe(true);
    // Nothing a bundler or test runner might have woven in, and no module scope.
    expect(source).not.toMatch(/__vite|__name|\bimport\b|\brequire\(|\bexports\b/);
    expect(page).toContain(`(${source})(document);`);
  });

  it('escapes hostile strings everywhere', () => {
    const hostile = '</script><script>alert(1)</script><!-- & "quoted" \'single\' \u2028';
    const events: HostEvent[] = [
      { type: 'state', socket: 1, from: 'CLOSED', to: hostile, at: 0 },
      { type: 'segment', socket: 1, direction: 'out', at: 1, segment: { srcPort: 1, dstPort: 2, seq: 5, ack: 0, flags: TcpFlag.SYN, window: 10, urgent: 0, options: {}, payload: new Uint8Array(0) } },
      { type: 'state', socket: 1, from: hostile, to: '<b>bold</b>', at: 2 },
    ];
    const evil = buildTimeline(events);
    const html = renderTracePage(evil, { title: hostile });
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(html).not.toContain('<b>bold</b>');
    expect(html).not.toContain('<!-- &');
    expect(html).toContain('<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!-- &amp; &quot;quoted&quot; &#39;single&#39;');
    expect(html).toContain('<td class="state">&lt;b&gt;bold&lt;/b&gt;</td>');
    expect((embeddedJson(html) as Timeline).statesVisited).toEqual(['CLOSED', hostile, '<b>bold</b>']);
  });
});

describe('jsonForScript', () => {
  it('never lets the data close its script element, and reads back the same (property)', () => {
    const text = fc.string({ unit: fc.constantFrom('<', '/', 's', 'c', 'r', 'i', 'p', 't', '!', '-', '>', '&', '\u2028', '\u2029', 'x') });
    fc.assert(
      fc.property(fc.oneof(text, fc.array(text), fc.dictionary(text, text), fc.jsonValue()), (value) => {
        const json = jsonForScript(value);
        expect(json).not.toMatch(/[<>&\u2028\u2029]/);
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('niceTicks', () => {
  it('gives round, increasing ticks within the range (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e9, noNaN: true }), fc.double({ min: 1e-3, max: 1e9, noNaN: true }), (min, width) => {
        const max = min + width;
        const ticks = niceTicks(min, max);
        expect(ticks.length).toBeGreaterThanOrEqual(1);
        expect(ticks.length).toBeLessThanOrEqual(12);
        ticks.forEach((tick, i) => {
          expect(tick).toBeGreaterThanOrEqual(min - width * 1e-3);
          expect(tick).toBeLessThanOrEqual(max + width * 1e-3);
          if (i > 0) expect(tick).toBeGreaterThan(ticks[i - 1]!);
        });
      }),
      { numRuns: 300 },
    );
    expect(niceTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 60_000, 8)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
  });
});
