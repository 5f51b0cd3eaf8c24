import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AnyStateMachine, createMachine } from 'xstate';
import { tcpMachine, TCP_STATES } from '../tcp/machine.js';
import { FIGURE_5_LAYOUT, edgeKey, escapeXml, machineToDot, machineToMermaid, machineToSvg } from './diagram.js';
import { xmlProblem } from './testing/xml-check.js';

interface Arc {
  readonly source: string;
  readonly target: string;
  readonly event: string;
}

/** The arcs of a (flat) machine read here straight from its state nodes, independently of diagram.ts. */
const arcsOf = (machine: AnyStateMachine): Arc[] =>
  Object.entries(machine.root.states).flatMap(([source, node]) =>
    Object.entries(node.on).flatMap(([event, definitions]) =>
      definitions.map((definition) => ({ source, target: definition.target?.[0]?.key ?? source, event })),
    ),
  );

const statesOf = (machine: AnyStateMachine): string[] => Object.keys(machine.root.states);

const mermaidIdsOf = (mermaid: string): Map<string, string> => {
  const ids = new Map<string, string>();
  for (const match of mermaid.matchAll(/^ {2}state "(.*)" as (\S+)$/gm)) ids.set(match[1]!, match[2]!);
  return ids;
};

/** The attribute values of every element of `tag` carrying `attribute` in an SVG string (unescaped for the plain names used here). */
const elementsWith = (svg: string, attribute: string): string[] =>
  [...svg.matchAll(new RegExp(`<g [^>]*${attribute}="([^"]*)"[^>]*>`, 'g'))].map((m) => m[0]);

const unescapeXml = (text: string): string =>
  text.replace(/&(lt|gt|quot|#39|amp);/g, (_, name: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[name]!);

const svgHasArc = (svg: string, arc: Arc): boolean => {
  const edge = elementsWith(svg, 'data-from').find(
    (tag) => tag.includes(`data-from="${escapeXml(arc.source)}"`) && tag.includes(`data-to="${escapeXml(arc.target)}"`),
  );
  if (!edge) return false;
  const events = JSON.parse(unescapeXml(/data-events="([^"]*)"/.exec(edge)?.[1] ?? '[]')) as string[];
  if (!events.includes(arc.event)) return false;
  // And its label shows the event.
  const key = escapeXml(edgeKey(arc.source, arc.target));
  const labelStart = svg.indexOf(`<g class="edge-label`, svg.indexOf('<g class="edge-labels">'));
  const label = svg.slice(labelStart).split('<g class="edge-label').find((part) => part.includes(`data-edge="${key}"`));
  return label !== undefined && label.includes(`>${escapeXml(arc.event)}`);
};

describe('diagrams of the TCP machine', () => {
  const arcs = arcsOf(tcpMachine);
  const states = statesOf(tcpMachine);

  it('has the eleven states of RFC 9293 and arcs to draw', () => {
    expect(states).toEqual([...TCP_STATES]);
    expect(arcs.length).toBeGreaterThan(40);
  });

  it('Mermaid shows every state and every arc', () => {
    const mermaid = machineToMermaid(tcpMachine);
    expect(mermaid.startsWith('stateDiagram-v2\n')).toBe(true);
    const ids = mermaidIdsOf(mermaid);
    for (const state of states) expect(ids.has(state), state).toBe(true);
    expect(mermaid).toContain(`[*] --> ${ids.get('CLOSED')!}\n`);
    const arcLines = mermaid.split('\n').filter((line) => / --> /.test(line) && !line.includes('[*]'));
    expect(arcLines).toHaveLength(arcs.length);
    for (const arc of arcs) {
      const prefix = `  ${ids.get(arc.source)!} --> ${ids.get(arc.target)!} : ${arc.event}`;
      expect(arcLines.some((line) => line.startsWith(prefix)), `${arc.source} ${arc.event}`).toBe(true);
    }
    expect(mermaid).toContain('s_SYN_RECEIVED --> s_LISTEN : RCV_RST [cameFromListen]');
    expect(mermaid).toContain('s_SYN_SENT --> s_ESTABLISHED : RCV_SYN_ACK / sendAck, signalEstablished');
  });

  it('DOT shows every state and every arc', () => {
    const dot = machineToDot(tcpMachine);
    expect(dot.startsWith('digraph "tcp" {')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    for (const state of states) expect(dot).toContain(`  "${state}";`);
    const edgeLines = dot.split('\n').filter((line) => line.includes(' -> ') && !line.includes('__initial'));
    expect(edgeLines).toHaveLength(arcs.length);
    for (const arc of arcs) {
      expect(edgeLines.some((line) => line.startsWith(`  "${arc.source}" -> "${arc.target}" [label="${arc.event}`))).toBe(true);
    }
  });

  it('SVG is well-formed and shows every state and every arc with its event', () => {
    const svg = machineToSvg(tcpMachine);
    expect(xmlProblem(svg)).toBeUndefined();
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const state of states) {
      expect(svg).toContain(`data-state="${state}"`);
      expect(svg).toContain(`>${state}</text>`);
    }
    for (const arc of arcs) expect(svgHasArc(svg, arc), `${arc.source} --${arc.event}--> ${arc.target}`).toBe(true);
    // CLOSED is drawn twice, as in Figure 5.
    expect(svg.match(/data-state="CLOSED"/g)).toHaveLength(2);
    // Arrowheads are defined in the SVG itself.
    expect(svg).toContain('<marker id="tcpd-arrow"');
  });

  it('places the states as in Figure 5', () => {
    const svg = machineToSvg(tcpMachine);
    const rectOf = (state: string) => {
      const match = new RegExp(`data-state="${state}">\\s*<rect x="([\\d.]+)" y="([\\d.]+)" width="([\\d.]+)" height="([\\d.]+)"`).exec(svg);
      const [x, y, w, h] = match!.slice(1).map(Number) as [number, number, number, number];
      return { cx: x + w / 2, cy: y + h / 2 };
    };
    for (const [state, positions] of Object.entries(FIGURE_5_LAYOUT)) {
      expect(rectOf(state)).toEqual({ cx: positions[0]!.x, cy: positions[0]!.y });
    }
    // The figure's reading order: opening on top, closing below, SYN-RECEIVED left of SYN-SENT.
    expect(rectOf('LISTEN').cy).toBeLessThan(rectOf('ESTABLISHED').cy);
    expect(rectOf('SYN-RECEIVED').cx).toBeLessThan(rectOf('SYN-SENT').cx);
    expect(rectOf('ESTABLISHED').cy).toBeLessThan(rectOf('TIME-WAIT').cy);
  });

  it('styles highlighted and current states and edges', () => {
    const svg = machineToSvg(tcpMachine, {
      highlight: ['SYN-SENT', edgeKey('CLOSED', 'SYN-SENT')],
      current: ['ESTABLISHED', edgeKey('SYN-SENT', 'ESTABLISHED')],
      idPrefix: 'x-',
      namespace: false,
    });
    expect(xmlProblem(svg)).toBeUndefined();
    expect(svg).not.toContain('xmlns');
    expect(svg).toContain('<g class="state highlight" data-state="SYN-SENT">');
    expect(svg).toContain('<g class="state current" data-state="ESTABLISHED">');
    expect(svg).toContain('<g class="state initial" data-state="CLOSED">');
    expect(svg).toMatch(/<g class="edge highlight" data-edge="CLOSED-&gt;SYN-SENT"/);
    expect(svg).toMatch(/<g class="edge current" data-edge="SYN-SENT-&gt;ESTABLISHED"/);
    expect(svg).toContain('<marker id="x-arrow-current"');
    expect(svg.match(/class="state [^"]*current/g)).toHaveLength(1);
  });

  it('renders a state the layout table does not know, and its arcs', () => {
    // The TCP machine's own states, plus one the layout table has never heard of.
    const states = tcpMachine.config.states as Record<string, { readonly on?: object }>;
    const extended = createMachine({
      id: 'tcp-extended',
      initial: 'CLOSED',
      states: {
        ...states,
        ESTABLISHED: { on: { ...states['ESTABLISHED']!.on, PAUSE: 'HALF-ASLEEP' } },
        'HALF-ASLEEP': { on: { WAKE: 'ESTABLISHED', NUDGE: { target: 'HALF-ASLEEP', reenter: true } } },
      },
    } as Parameters<typeof createMachine>[0]);
    const svg = machineToSvg(extended);
    expect(xmlProblem(svg)).toBeUndefined();
    for (const arc of arcsOf(extended)) expect(svgHasArc(svg, arc), `${arc.source} ${arc.event}`).toBe(true);
    const y = Number(/data-state="HALF-ASLEEP">\s*<rect x="[\d.]+" y="([\d.]+)"/.exec(svg)![1]);
    expect(y).toBeGreaterThan(Math.max(...Object.values(FIGURE_5_LAYOUT).flat().map((p) => p.y)));
    expect(machineToMermaid(extended)).toContain('s_ESTABLISHED --> s_HALF_ASLEEP : PAUSE');
    expect(machineToDot(extended)).toContain('"HALF-ASLEEP" -> "ESTABLISHED" [label="WAKE"];');
  });

  it('draws any machine, whatever its names, as well-formed SVG with every state and arc (property)', () => {
    // No '.' or '#' in names: XState reads those in targets as paths and ids.
    const name = fc.string({
      unit: fc.constantFrom('A', 'b', '7', '-', '_', ' ', '<', '>', '&', '"', "'", 'é', '→', '\u0001', '\uD83D\uDE00'),
      minLength: 1,
      maxLength: 10,
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(name, { minLength: 1, maxLength: 9 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), name), { maxLength: 20 }),
        (names, rawArcs) => {
          const states: Record<string, { on: Record<string, string> }> = Object.fromEntries(names.map((n) => [n, { on: {} }]));
          for (const [from, to, event] of rawArcs) states[names[from % names.length]!]!.on[event] = names[to % names.length]!;
          const machine = createMachine({ id: 'random', initial: names[0]!, states });
          const svg = machineToSvg(machine);
          expect(xmlProblem(svg)).toBeUndefined();
          for (const state of names) expect(svg).toContain(`data-state="${escapeXml(state)}"`);
          for (const arc of arcsOf(machine)) expect(svgHasArc(svg, arc)).toBe(true);
          const dot = machineToDot(machine);
          for (const arc of arcsOf(machine)) {
            const quote = (s: string) => JSON.stringify(s).replace(/\\u0001/g, '\u0001');
            expect(dot).toContain(`${quote(arc.source)} -> ${quote(arc.target)}`);
          }
          const mermaidLines = machineToMermaid(machine).split('\n');
          expect(mermaidLines.filter((l) => l.includes(' --> ') && !l.includes('[*]'))).toHaveLength(arcsOf(machine).length);
          // Names reach Mermaid only as entities: no quote or angle bracket of their own.
          for (const line of mermaidLines.filter((l) => l.startsWith('  state '))) expect(line.slice(9, line.lastIndexOf('"'))).not.toMatch(/["<>]/);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('escapes text for XML and replaces what XML cannot hold', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
    expect(escapeXml('a\u0000b\uD800c')).toBe('a\uFFFDb\uFFFDc');
    expect(escapeXml('😀')).toBe('😀');
  });
});

describe('xmlProblem (the checker the tests rely on)', () => {
  it.each([
    ['<a><b></a></b>', '</a> closes <b>'],
    ['<a>', '<a> is never closed'],
    ['<a x="1" x="2"/>', 'duplicate attribute x in <a>'],
    ['<a>&</a>', 'unescaped & in text'],
    ['<a x=1/>', 'malformed tag'],
    ['<a/><b/>', 'more than one root element'],
  ])('finds the problem in %s', (xml, problem) => {
    expect(xmlProblem(xml)).toContain(problem);
  });

  it('accepts well-formed XML', () => {
    expect(xmlProblem('<a x="&amp;"><b/>t&lt;<c y=\'2\'>z</c></a>')).toBeUndefined();
  });
});
