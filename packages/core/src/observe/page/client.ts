/**
 * The trace page's script. It runs in the browser, where it is inlined as the
 * text of `traceClient` (see trace-page.ts), so the function must stand alone:
 * no imports, nothing from this module's scope. The package compiles without
 * the DOM library, so the few DOM members it uses are declared here.
 */

interface ClientClassList {
  toggle(name: string, force?: boolean): boolean;
  contains(name: string): boolean;
}

export interface ClientElement {
  readonly dataset: { readonly [key: string]: string | undefined };
  readonly classList: ClientClassList;
  textContent: string | null;
  hidden: boolean;
  setAttribute(name: string, value: string): void;
  getAttribute(name: string): string | null;
  addEventListener(type: string, listener: (event: ClientEvent) => void): void;
  querySelectorAll(selector: string): ArrayLike<ClientElement>;
  closest(selector: string): ClientElement | null;
  scrollIntoView(options: { readonly block: string }): void;
  getBoundingClientRect(): { readonly left: number; readonly width: number };
}

export interface ClientEvent {
  readonly key?: string;
  readonly target: unknown;
  readonly clientX?: number;
  readonly altKey?: boolean;
  readonly ctrlKey?: boolean;
  readonly metaKey?: boolean;
  preventDefault(): void;
}

export interface ClientDocument {
  readonly body: ClientElement;
  getElementById(id: string): ClientElement | null;
  querySelectorAll(selector: string): ArrayLike<ClientElement>;
  addEventListener(type: string, listener: (event: ClientEvent) => void): void;
}

/** What the script reads of each step in the page's JSON. */
interface ClientStep {
  readonly t: number;
  readonly kind: string;
  readonly state: string;
  readonly from?: string;
  readonly to?: string;
  readonly summary: string;
}

/**
 * Steps through the timeline: Prev/Next buttons, arrow keys (also Home, End,
 * PageUp, PageDown), clicks on rows and on charts. The selected step's state
 * is marked `current` in the diagram, with the arc that led into it, and the
 * charts' cursors move to its time.
 */
export function traceClient(doc: ClientDocument): void {
  const dataElement = doc.getElementById('trace-data');
  const timeline = JSON.parse(dataElement?.textContent ?? '{}') as { readonly steps?: readonly ClientStep[] };
  const steps: readonly ClientStep[] = timeline.steps ?? [];
  const all = (selector: string): ClientElement[] => Array.from(doc.querySelectorAll(selector));
  const rows = all('#steps [data-step]');
  const stateElements = all('#diagram [data-state]');
  const edgeElements = all('#diagram [data-edge]');
  const charts = all('svg.chart');
  const position = doc.getElementById('position');

  // The arc into the state each step is in: the latest state change at or before it.
  const arcInto: string[] = [];
  let arc = '';
  for (const step of steps) {
    if (step.kind === 'state' && step.from !== undefined && step.to !== undefined) arc = `${step.from}->${step.to}`;
    arcInto.push(arc);
  }

  const formatTime = (ms: number): string => (Math.abs(ms) >= 10000 ? `${(ms / 1000).toFixed(3)} s` : `${ms.toFixed(3)} ms`);

  const moveCursors = (t: number): void => {
    for (const svg of charts) {
      const t0 = Number(svg.getAttribute('data-t0'));
      const t1 = Number(svg.getAttribute('data-t1'));
      const x0 = Number(svg.getAttribute('data-x0'));
      const x1 = Number(svg.getAttribute('data-x1'));
      // Steps after the charted span (a long TIME-WAIT) pin the cursor to the right edge.
      const x = Math.min(x1, Math.max(x0, x0 + ((t - t0) / (t1 - t0 || 1)) * (x1 - x0)));
      for (const cursor of Array.from(svg.querySelectorAll('.cursor'))) {
        cursor.setAttribute('x1', String(x));
        cursor.setAttribute('x2', String(x));
      }
    }
  };

  let selected = -1;
  const select = (index: number): void => {
    if (steps.length === 0) return;
    const i = Math.max(0, Math.min(steps.length - 1, Math.round(index)));
    const step = steps[i]!;
    selected = i;
    for (const row of rows) {
      const on = Number(row.dataset['step']) === i;
      row.classList.toggle('selected', on);
      row.setAttribute('aria-selected', on ? 'true' : 'false');
      if (on) row.scrollIntoView({ block: 'nearest' });
    }
    for (const element of stateElements) element.classList.toggle('current', element.dataset['state'] === step.state);
    for (const element of edgeElements) element.classList.toggle('current', element.dataset['edge'] === arcInto[i]);
    moveCursors(step.t);
    if (position) {
      position.textContent = `Step ${i + 1} of ${steps.length} · t = ${formatTime(step.t)} · ${step.state} · ${step.summary}`;
    }
    doc.body.setAttribute('data-selected', String(i));
  };

  /** The step nearest to time t (steps are in time order). */
  const stepAt = (t: number): number => {
    let low = 0;
    let high = steps.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (steps[mid]!.t < t) low = mid + 1;
      else high = mid;
    }
    if (low > 0 && Math.abs(steps[low - 1]!.t - t) <= Math.abs(steps[low]!.t - t)) return low - 1;
    return low;
  };

  const onClick = (id: string, action: () => void): void => {
    doc.getElementById(id)?.addEventListener('click', action);
  };
  onClick('first', () => select(0));
  onClick('prev', () => select(selected - 1));
  onClick('next', () => select(selected + 1));
  onClick('last', () => select(steps.length - 1));

  doc.getElementById('steps')?.addEventListener('click', (event) => {
    const target = event.target as ClientElement | null;
    const row = target && typeof target.closest === 'function' ? target.closest('[data-step]') : null;
    if (row) select(Number(row.dataset['step']));
  });

  for (const svg of charts) {
    svg.addEventListener('click', (event) => {
      const box = svg.getBoundingClientRect();
      const viewBox = (svg.getAttribute('viewBox') ?? '0 0 1 1').split(' ').map(Number);
      const x = (((event.clientX ?? 0) - box.left) / (box.width || 1)) * (viewBox[2] ?? 1);
      const t0 = Number(svg.getAttribute('data-t0'));
      const t1 = Number(svg.getAttribute('data-t1'));
      const x0 = Number(svg.getAttribute('data-x0'));
      const x1 = Number(svg.getAttribute('data-x1'));
      select(stepAt(t0 + ((x - x0) / (x1 - x0 || 1)) * (t1 - t0)));
    });
  }

  for (const button of all('[data-show-direction]')) {
    button.addEventListener('click', () => {
      const direction = button.dataset['showDirection'];
      for (const panel of all('[data-direction]')) panel.hidden = panel.dataset['direction'] !== direction;
      for (const other of all('[data-show-direction]')) {
        other.setAttribute('aria-pressed', other.dataset['showDirection'] === direction ? 'true' : 'false');
      }
    });
  }

  doc.addEventListener('keydown', (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const moves: { readonly [key: string]: number } = {
      ArrowDown: 1,
      ArrowRight: 1,
      ArrowUp: -1,
      ArrowLeft: -1,
      PageDown: 10,
      PageUp: -10,
    };
    const key = event.key ?? '';
    if (key === 'Home') select(0);
    else if (key === 'End') select(steps.length - 1);
    else if (key in moves) select(selected + moves[key]!);
    else return;
    event.preventDefault();
  });

  select(0);
}
