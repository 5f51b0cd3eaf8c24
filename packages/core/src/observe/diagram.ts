/**
 * The state diagram drawn from the machine's own definition: Mermaid, Graphviz
 * DOT, and a self-contained SVG laid out like RFC 9293 Figure 5. Every arc
 * comes from walking the state nodes, so an arc added to the machine shows up
 * here without anyone touching this file.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

export interface DiagramArc {
  readonly source: string;
  readonly target: string;
  /** The event type; `always` for an eventless transition. */
  readonly event: string;
  readonly guard?: string;
  /** Named actions of the arc (XState's built-ins such as `assign` left out). */
  readonly actions: readonly string[];
}

export interface MachineGraph {
  readonly id: string;
  readonly initial: string | undefined;
  /** State names; nested states as dotted paths. */
  readonly states: readonly string[];
  readonly arcs: readonly DiagramArc[];
}

const nameOf = (item: unknown): string | undefined => {
  if (typeof item === 'string') return item;
  if ((typeof item === 'object' || typeof item === 'function') && item !== null && 'type' in item) {
    const type: unknown = (item as { type: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
};

const guardOf = (definition: AnyTransitionDefinition): string | undefined => {
  if (definition.guard === undefined) return undefined;
  return nameOf(definition.guard) ?? 'inline';
};

const actionsOf = (definition: AnyTransitionDefinition): string[] =>
  definition.actions.flatMap((action) => {
    const name = nameOf(action);
    return name === undefined || name.startsWith('xstate.') ? [] : [name];
  });

const pathOf = (node: AnyStateNode): string => node.path.join('.');

/** Every state and arc of a machine, read from its definition. */
export const machineGraph = (machine: AnyStateMachine): MachineGraph => {
  const states: string[] = [];
  const arcs: DiagramArc[] = [];
  const arcsOf = (source: string, event: string, definitions: readonly AnyTransitionDefinition[]): void => {
    for (const definition of definitions) {
      const targets = definition.target?.map(pathOf) ?? [source];
      const guard = guardOf(definition);
      for (const target of targets.length > 0 ? targets : [source]) {
        arcs.push({ source, target, event, ...(guard !== undefined ? { guard } : {}), actions: actionsOf(definition) });
      }
    }
  };
  const visit = (node: AnyStateNode): void => {
    const name = pathOf(node);
    states.push(name);
    for (const [event, definitions] of node.transitions) arcsOf(name, event, definitions);
    if (node.always) arcsOf(name, 'always', node.always);
    for (const child of Object.values(node.states)) visit(child);
  };
  for (const child of Object.values(machine.root.states)) visit(child);
  const initialTarget = machine.root.initial?.target[0];
  return { id: machine.id, initial: initialTarget ? pathOf(initialTarget) : undefined, states, arcs };
};

/** The key of the drawn edge between two states, as used in `highlight` and in the SVG's `data-edge`. */
export const edgeKey = (source: string, target: string): string => `${source}->${target}`;

const arcLabel = (arc: DiagramArc): string => (arc.guard !== undefined ? `${arc.event} [${arc.guard}]` : arc.event);

// ------------------------------------------------------------------ Mermaid

/** Mermaid labels take `#code;` entities for anything outside a safe set. */
const mermaidText = (text: string): string =>
  Array.from(text, (ch) => (/^[A-Za-z0-9 _\-[\],./()]$/.test(ch) ? ch : `#${ch.codePointAt(0)};`)).join('');

const mermaidIds = (states: readonly string[]): Map<string, string> => {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  for (const state of states) {
    const base = `s_${state.replace(/[^A-Za-z0-9_]/g, '_')}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    ids.set(state, id);
  }
  return ids;
};

/** A Mermaid `stateDiagram-v2`: one line per arc, labelled `EVENT [guard] / actions`. */
export const machineToMermaid = (machine: AnyStateMachine): string => {
  const graph = machineGraph(machine);
  const ids = mermaidIds(graph.states);
  const lines = ['stateDiagram-v2'];
  for (const state of graph.states) lines.push(`  state "${mermaidText(state)}" as ${ids.get(state)!}`);
  if (graph.initial !== undefined) lines.push(`  [*] --> ${ids.get(graph.initial)!}`);
  for (const arc of graph.arcs) {
    const actions = arc.actions.length > 0 ? ` / ${arc.actions.join(', ')}` : '';
    lines.push(`  ${ids.get(arc.source)!} --> ${ids.get(arc.target)!} : ${mermaidText(arcLabel(arc) + actions)}`);
  }
  return `${lines.join('\n')}\n`;
};

// ---------------------------------------------------------------------- DOT

const dotString = (text: string): string => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;

/** A Graphviz digraph: one edge per arc, labelled `EVENT [guard] / actions`. */
export const machineToDot = (machine: AnyStateMachine): string => {
  const graph = machineGraph(machine);
  const lines = [
    `digraph ${dotString(graph.id)} {`,
    '  node [shape=box, style=rounded, fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  for (const state of graph.states) lines.push(`  ${dotString(state)};`);
  if (graph.initial !== undefined) {
    lines.push('  "__initial" [shape=point, label=""];', `  "__initial" -> ${dotString(graph.initial)};`);
  }
  for (const arc of graph.arcs) {
    const actions = arc.actions.length > 0 ? `\n/ ${arc.actions.join(', ')}` : '';
    lines.push(`  ${dotString(arc.source)} -> ${dotString(arc.target)} [label=${dotString(arcLabel(arc) + actions)}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
};

// ---------------------------------------------------------------------- SVG

interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * Box centres in the layout of RFC 9293 Figure 5. CLOSED appears twice, as in
 * the figure: on top for opening, bottom right for the end of a close; an arc
 * goes to whichever copy it reaches more cleanly.
 */
export const FIGURE_5_LAYOUT: { readonly [state: string]: readonly Point[] } = {
  CLOSED: [
    { x: 400, y: 50 },
    { x: 690, y: 840 },
  ],
  LISTEN: [{ x: 400, y: 170 }],
  'SYN-RECEIVED': [{ x: 110, y: 300 }],
  'SYN-SENT': [{ x: 690, y: 300 }],
  ESTABLISHED: [{ x: 400, y: 430 }],
  'FIN-WAIT-1': [{ x: 110, y: 570 }],
  'CLOSE-WAIT': [{ x: 690, y: 570 }],
  'FIN-WAIT-2': [{ x: 110, y: 700 }],
  CLOSING: [{ x: 400, y: 700 }],
  'LAST-ACK': [{ x: 690, y: 700 }],
  'TIME-WAIT': [{ x: 400, y: 840 }],
};

/**
 * Arcs Figure 5 leaves out (resets, aborts, user timeouts of §3.10): drawn
 * thin and dashed so that the figure's own arcs stand out.
 */
const EXCEPTIONAL_EVENTS: ReadonlySet<string> = new Set(['RCV_RST', 'RCV_ICMP_HARD_ERROR', 'ABORT', 'TIMEOUT_USER']);

const GRID_COLUMNS = [110, 400, 690];
const GRID_ROW_HEIGHT = 120;
const BOX_HEIGHT = 40;
const MIN_BOX_WIDTH = 132;
const MARGIN = 20;
const LABEL_LINE_HEIGHT = 12;
const LABEL_CHAR_WIDTH = 6.1;

interface Box {
  readonly state: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

interface Rect {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

const rectOf = (box: Box, inflate = 0): Rect => ({
  left: box.x - box.w / 2 - inflate,
  top: box.y - box.h / 2 - inflate,
  right: box.x + box.w / 2 + inflate,
  bottom: box.y + box.h / 2 + inflate,
});

const inside = (p: Point, r: Rect): boolean => p.x > r.left && p.x < r.right && p.y > r.top && p.y < r.bottom;

const overlapArea = (a: Rect, b: Rect): number =>
  Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left)) *
  Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));

const boxWidth = (state: string): number => Math.max(MIN_BOX_WIDTH, state.length * 8 + 24);

/** Places every state: the Figure 5 table first, then a grid below it for states the table does not know. */
const layoutBoxes = (states: readonly string[]): Box[] => {
  const boxes: Box[] = [];
  const unplaced: string[] = [];
  for (const state of states) {
    const positions = Object.prototype.hasOwnProperty.call(FIGURE_5_LAYOUT, state) ? FIGURE_5_LAYOUT[state] : undefined;
    if (!positions) {
      unplaced.push(state);
      continue;
    }
    for (const p of positions) boxes.push({ state, x: p.x, y: p.y, w: boxWidth(state), h: BOX_HEIGHT });
  }
  const firstRow = boxes.length === 0 ? 50 : Math.max(...boxes.map((b) => b.y)) + GRID_ROW_HEIGHT;
  unplaced.forEach((state, i) => {
    boxes.push({
      state,
      x: GRID_COLUMNS[i % GRID_COLUMNS.length]!,
      y: firstRow + Math.floor(i / GRID_COLUMNS.length) * GRID_ROW_HEIGHT,
      w: boxWidth(state),
      h: BOX_HEIGHT,
    });
  });
  return boxes;
};

/** Where the ray from the box's centre towards `toward` leaves the box. */
const borderPoint = (box: Box, toward: Point): Point => {
  const dx = toward.x - box.x;
  const dy = toward.y - box.y;
  if (dx === 0 && dy === 0) return { x: box.x, y: box.y - box.h / 2 };
  const scale = Math.min(dx === 0 ? Infinity : box.w / 2 / Math.abs(dx), dy === 0 ? Infinity : box.h / 2 / Math.abs(dy));
  return { x: box.x + dx * scale, y: box.y + dy * scale };
};

interface Curve {
  readonly start: Point;
  readonly control: Point;
  readonly end: Point;
}

const curvePoint = (c: Curve, t: number): Point => {
  const u = 1 - t;
  return {
    x: u * u * c.start.x + 2 * u * t * c.control.x + t * t * c.end.x,
    y: u * u * c.start.y + 2 * u * t * c.control.y + t * t * c.end.y,
  };
};

/** A quadratic curve between two boxes whose middle lies `offset` to the right of the straight line. */
const curveBetween = (from: Box, to: Box, offset: number): Curve => {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const length = Math.hypot(dx, dy) || 1;
  const control = { x: (from.x + to.x) / 2 - (dy / length) * offset * 2, y: (from.y + to.y) / 2 + (dx / length) * offset * 2 };
  return { start: borderPoint(from, control), control, end: borderPoint(to, control) };
};

const STRAIGHT_FIRST = [0, 40, -40, 80, -80, 120, -120, 170, -170, 230, -230];
const BOWED_ONLY = [20, 35, 55, 80, 110, 150, 200];

interface Group {
  readonly key: string;
  readonly source: string;
  readonly target: string;
  readonly arcs: DiagramArc[];
}

interface RoutedEdge {
  readonly group: Group;
  /** SVG path data. */
  readonly d: string;
  /** Label centre candidates, best first. */
  readonly labelAnchors: readonly Point[];
}

const fmt = (n: number): string => (Math.round(n * 10) / 10).toString();

const routeBetween = (group: Group, boxes: readonly Box[], hasReverse: boolean, bounds: Rect): RoutedEdge => {
  // A state's first box is its home: arcs leave from there; further copies (CLOSED at the bottom) only receive.
  const sources = boxes.filter((b) => b.state === group.source).slice(0, 1);
  const targets = boxes.filter((b) => b.state === group.target);
  let best: { cost: number; curve: Curve } | undefined;
  for (const from of sources) {
    for (const to of targets) {
      const obstacles = boxes.filter((b) => b !== from && b !== to).map((b) => rectOf(b, 4));
      for (const offset of hasReverse ? BOWED_ONLY : STRAIGHT_FIRST) {
        const curve = curveBetween(from, to, offset);
        let hits = 0;
        for (let i = 1; i < 20; i++) {
          const p = curvePoint(curve, i / 20);
          if (obstacles.some((r) => inside(p, r)) || !inside(p, bounds)) hits++;
        }
        const cost = hits * 400 + Math.hypot(to.x - from.x, to.y - from.y) + Math.abs(offset) * 1.5;
        if (!best || cost < best.cost) best = { cost, curve };
      }
    }
  }
  const curve = best!.curve;
  const d = `M${fmt(curve.start.x)},${fmt(curve.start.y)} Q${fmt(curve.control.x)},${fmt(curve.control.y)} ${fmt(curve.end.x)},${fmt(curve.end.y)}`;
  const labelAnchors = [0, 14, -14, 28, -28].flatMap((shift) =>
    [0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75, 0.2, 0.8].map((t) => {
      const p = curvePoint(curve, t);
      return { x: p.x, y: p.y + shift };
    }),
  );
  return { group, d, labelAnchors };
};

/** A loop on whichever side of the box has room: below, left, right, then above. */
const routeLoop = (group: Group, boxes: readonly Box[], bounds: Rect): RoutedEdge => {
  const box = boxes.find((b) => b.state === group.source)!;
  const others = boxes.filter((b) => b !== box).map((b) => rectOf(b, 4));
  const r = rectOf(box);
  const reach = 46;
  const sides = [
    { start: { x: box.x - 22, y: r.bottom }, end: { x: box.x + 22, y: r.bottom }, out: { x: 0, y: 1 } },
    { start: { x: r.left, y: box.y - 10 }, end: { x: r.left, y: box.y + 10 }, out: { x: -1, y: 0 } },
    { start: { x: r.right, y: box.y + 10 }, end: { x: r.right, y: box.y - 10 }, out: { x: 1, y: 0 } },
    { start: { x: box.x + 22, y: r.top }, end: { x: box.x - 22, y: r.top }, out: { x: 0, y: -1 } },
  ];
  const clear = sides.find((side) => {
    const apex = { x: (side.start.x + side.end.x) / 2 + side.out.x * reach, y: (side.start.y + side.end.y) / 2 + side.out.y * reach };
    return inside(apex, bounds) && !others.some((o) => inside(apex, o));
  });
  const side = clear ?? sides[0]!;
  const c1 = { x: side.start.x + side.out.x * reach * 1.3 - side.out.y * 10, y: side.start.y + side.out.y * reach * 1.3 - side.out.x * 10 };
  const c2 = { x: side.end.x + side.out.x * reach * 1.3 + side.out.y * 10, y: side.end.y + side.out.y * reach * 1.3 + side.out.x * 10 };
  const d = `M${fmt(side.start.x)},${fmt(side.start.y)} C${fmt(c1.x)},${fmt(c1.y)} ${fmt(c2.x)},${fmt(c2.y)} ${fmt(side.end.x)},${fmt(side.end.y)}`;
  const apex = { x: (side.start.x + side.end.x) / 2 + side.out.x * (reach + 4), y: (side.start.y + side.end.y) / 2 + side.out.y * (reach + 4) };
  return { group, d, labelAnchors: [apex] };
};

/** Text for XML: escaped, and characters XML 1.0 cannot hold replaced. */
export const escapeXml = (text: string): string =>
  text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

export interface SvgOptions {
  /** States and edges (`edgeKey(from, to)`) to draw highlighted, e.g. those a connection went through. */
  readonly highlight?: readonly string[];
  /** The state (and, as `edgeKey`, the edge) to draw as current. */
  readonly current?: string | readonly string[];
  /** Prefix of the ids and of the CSS class this SVG uses, so several can share a page (default `tcpd-`). */
  readonly idPrefix?: string;
  /** Write the SVG namespace attribute (default true; HTML pages do without). */
  readonly namespace?: boolean;
  readonly title?: string;
}

interface LabelBox {
  readonly group: Group;
  readonly lines: readonly string[];
  readonly rect: Rect;
}

const outsideArea = (r: Rect, bounds: Rect): number =>
  (r.right - r.left) * (r.bottom - r.top) - overlapArea(r, bounds);

const placeLabel = (edge: RoutedEdge, lines: readonly string[], placed: Rect[], boxes: readonly Rect[], bounds: Rect): Rect => {
  const width = Math.max(...lines.map((l) => l.length)) * LABEL_CHAR_WIDTH + 8;
  const height = lines.length * LABEL_LINE_HEIGHT + 4;
  let best: { rect: Rect; overlap: number } | undefined;
  for (const anchor of edge.labelAnchors) {
    const rect = { left: anchor.x - width / 2, top: anchor.y - height / 2, right: anchor.x + width / 2, bottom: anchor.y + height / 2 };
    const overlap =
      [...placed, ...boxes].reduce((sum, other) => sum + overlapArea(rect, other), 0) + 4 * outsideArea(rect, bounds);
    if (!best || overlap < best.overlap) best = { rect, overlap };
    if (overlap === 0) break;
  }
  placed.push(best!.rect);
  return best!.rect;
};

/**
 * A self-contained SVG of the machine: states in the layout of Figure 5 (a
 * grid below it for states the figure lacks), one edge per pair of states
 * with an arrowhead and the events (and guards) of its arcs. Elements carry
 * `data-state` / `data-edge` (and `data-from`, `data-to`, `data-events` as a
 * JSON array) so a
 * page can restyle them by adding the classes `highlight` and `current`.
 */
export const machineToSvg = (machine: AnyStateMachine, options: SvgOptions = {}): string => {
  const graph = machineGraph(machine);
  const prefix = options.idPrefix ?? 'tcpd-';
  const highlight = new Set(options.highlight ?? []);
  const current = new Set(typeof options.current === 'string' ? [options.current] : (options.current ?? []));
  const boxes = layoutBoxes(graph.states);
  const width = Math.max(800, ...boxes.map((b) => b.x + b.w / 2 + MARGIN));
  const height = Math.max(...boxes.map((b) => b.y + b.h / 2 + 80), 100);
  const bounds: Rect = { left: 4, top: 4, right: width - 4, bottom: height - 4 };

  const groups = new Map<string, Group>();
  for (const arc of graph.arcs) {
    const key = edgeKey(arc.source, arc.target);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { key, source: arc.source, target: arc.target, arcs: [] }));
    group.arcs.push(arc);
  }
  const routed = [...groups.values()].map((group) =>
    group.source === group.target
      ? routeLoop(group, boxes, bounds)
      : routeBetween(group, boxes, groups.has(edgeKey(group.target, group.source)), bounds),
  );

  const placed: Rect[] = [];
  const boxRects = boxes.map((b) => rectOf(b, 2));
  const labels: LabelBox[] = routed.map((edge) => {
    const lines = [...new Set(edge.group.arcs.map(arcLabel))];
    return { group: edge.group, lines, rect: placeLabel(edge, lines, placed, boxRects, bounds) };
  });

  const classes = (base: string, key: string, extra: readonly string[] = []): string =>
    [base, ...extra, ...(highlight.has(key) ? ['highlight'] : []), ...(current.has(key) ? ['current'] : [])].join(' ');
  const root = `${prefix}root`;
  const style = [
    `.${root} .state rect{fill:#f4f4f5;stroke:#52525b;stroke-width:1.5}`,
    `.${root} .state text{font:600 13px sans-serif;fill:#18181b}`,
    `.${root} .state.highlight rect{fill:#dbeafe;stroke:#2563eb}`,
    `.${root} .state.current rect{fill:#1d4ed8;stroke:#172554;stroke-width:3}`,
    `.${root} .state.current text{fill:#fff}`,
    `.${root} .edge path{fill:none;stroke:#71717a;stroke-width:1.3;marker-end:url(#${prefix}arrow)}`,
    `.${root} .edge.exceptional path{stroke:#a1a1aa;stroke-width:1;stroke-dasharray:4 3}`,
    `.${root} .edge.highlight path{stroke:#2563eb;stroke-width:2;stroke-dasharray:none;marker-end:url(#${prefix}arrow-highlight)}`,
    `.${root} .edge.current path{stroke:#dc2626;stroke-width:3;stroke-dasharray:none;marker-end:url(#${prefix}arrow-current)}`,
    `.${root} .edge-label rect{fill:#fff;fill-opacity:.85}`,
    `.${root} .edge-label text{font:10px sans-serif;fill:#3f3f46}`,
    `.${root} .edge-label.exceptional text{fill:#a1a1aa}`,
    `.${root} .edge-label.highlight text{fill:#1d4ed8}`,
    `.${root} .edge-label.current text{fill:#b91c1c;font-weight:700}`,
  ].join('');
  const marker = (id: string, colour: string): string =>
    `<marker id="${prefix}${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${colour}"/></marker>`;

  const out: string[] = [];
  const namespace = (options.namespace ?? true) ? ' xmlns="http://www.w3.org/2000/svg"' : '';
  out.push(
    `<svg${namespace} class="${root}" viewBox="0 0 ${fmt(width)} ${fmt(height)}" width="${fmt(width)}" height="${fmt(height)}" role="img" aria-label="${escapeXml(options.title ?? `State diagram of ${graph.id}`)}">`,
    `<title>${escapeXml(options.title ?? `State diagram of ${graph.id}`)}</title>`,
    `<defs>${marker('arrow', '#71717a')}${marker('arrow-highlight', '#2563eb')}${marker('arrow-current', '#dc2626')}</defs>`,
    `<style>${style}</style>`,
    '<g class="edges">',
  );
  for (const edge of routed) {
    const { group } = edge;
    const exceptional = group.arcs.every((arc) => EXCEPTIONAL_EVENTS.has(arc.event)) ? ['exceptional'] : [];
    const events = JSON.stringify([...new Set(group.arcs.map((arc) => arc.event))]);
    const description = group.arcs
      .map((arc) => `${arcLabel(arc)}${arc.actions.length > 0 ? ` / ${arc.actions.join(', ')}` : ''}`)
      .join('; ');
    out.push(
      `<g class="${classes('edge', group.key, exceptional)}" data-edge="${escapeXml(group.key)}" data-from="${escapeXml(group.source)}" data-to="${escapeXml(group.target)}" data-events="${escapeXml(events)}">`,
      `<title>${escapeXml(`${group.source} → ${group.target}: ${description}`)}</title>`,
      `<path d="${edge.d}"/></g>`,
    );
  }
  out.push('</g><g class="edge-labels">');
  for (const label of labels) {
    const { group, lines, rect } = label;
    const exceptional = group.arcs.every((arc) => EXCEPTIONAL_EVENTS.has(arc.event)) ? ['exceptional'] : [];
    const cx = (rect.left + rect.right) / 2;
    const tspans = lines
      .map((line, i) => `<tspan x="${fmt(cx)}" y="${fmt(rect.top + 2 + LABEL_LINE_HEIGHT * (i + 0.8))}">${escapeXml(line)}</tspan>`)
      .join('');
    out.push(
      `<g class="${classes('edge-label', group.key, exceptional)}" data-edge="${escapeXml(group.key)}">`,
      `<rect x="${fmt(rect.left)}" y="${fmt(rect.top)}" width="${fmt(rect.right - rect.left)}" height="${fmt(rect.bottom - rect.top)}" rx="3"/>`,
      `<text text-anchor="middle">${tspans}</text></g>`,
    );
  }
  out.push('</g><g class="states">');
  for (const box of boxes) {
    const r = rectOf(box);
    const initial = box.state === graph.initial ? ['initial'] : [];
    out.push(
      `<g class="${classes('state', box.state, initial)}" data-state="${escapeXml(box.state)}">`,
      `<rect x="${fmt(r.left)}" y="${fmt(r.top)}" width="${fmt(box.w)}" height="${fmt(box.h)}" rx="8"/>`,
      `<text x="${fmt(box.x)}" y="${fmt(box.y + 4.5)}" text-anchor="middle">${escapeXml(box.state)}</text></g>`,
    );
  }
  out.push('</g></svg>');
  return out.join('\n');
};
