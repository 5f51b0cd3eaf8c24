/**
 * The trace page in a real browser: Debian's Chromium, headless, driven by
 * playwright-core. The page must load with no errors and no requests, step
 * through the timeline by buttons, keys and clicks with the diagram
 * following, and show something worth looking at in a screenshot.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lossyTransferTimeline } from './testing/two-hosts.js';
import { decodePng, distinctColours, pixelAt } from './testing/png.js';
import type { Timeline } from './timeline.js';
import { renderTracePage } from './trace-page.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The fill of the current state's box in the diagram (diagram.ts). */
const CURRENT_STATE_FILL = '#1d4ed8';

const transferTimeline = (): Timeline => lossyTransferTimeline({ tcp: { msl: 300 } });

describe('the trace page in Chromium', () => {
  const timeline = transferTimeline();
  const steps = timeline.steps;
  let directory = '';
  let pageUrl = '';
  let context: BrowserContext | undefined;
  let page: Page;
  /** Why the browser could not be started: every test then fails with it (none is skipped). */
  let setupError: Error | undefined;
  const problems: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      setupError = new Error(
        `Chromium is missing at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (as scripts/install-system.sh does)`,
      );
      return;
    }
    try {
      directory = mkdtempSync(join(tmpdir(), 'trace-page-'));
      const file = join(directory, 'trace.html');
      writeFileSync(file, renderTracePage(timeline, { title: 'Trace of a 40 kB transfer with two losses' }));
      pageUrl = pathToFileURL(file).href;
      context = await chromium.launchPersistentContext(join(directory, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1400, height: 1000 },
        // On two cores busy with the rest of the suite, Chromium once took over 30 s to start.
        timeout: 90_000,
      });
      page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(10_000);
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(pageUrl, { waitUntil: 'load' });
    } catch (error) {
      setupError = new Error(`Chromium could not show the page: ${error instanceof Error ? error.message : String(error)}`);
    }
  }, 120_000);

  const ready = (): void => {
    if (setupError) throw setupError;
  };

  afterAll(async () => {
    await context?.close();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  const currentStates = (): Promise<string[]> =>
    page.$$eval('#diagram .state.current', (elements) => elements.map((e) => e.getAttribute('data-state') ?? ''));
  const currentEdges = (): Promise<string[]> =>
    page.$$eval('#diagram .edge.current', (elements) => elements.map((e) => e.getAttribute('data-edge') ?? ''));
  const selected = async (): Promise<number> => Number(await page.getAttribute('body', 'data-selected'));

  /** The arc into the state of step i: its latest state change. */
  const arcInto = (i: number): string[] => {
    const change = steps.slice(0, i + 1).reverse().find((s) => s.kind === 'state');
    return change ? [`${change.from}->${change.to}`] : [];
  };

  const expectStep = async (i: number): Promise<void> => {
    expect(await selected()).toBe(i);
    const states = await currentStates();
    // CLOSED has two boxes, as in Figure 5; both are current together.
    expect(new Set(states), `step ${i}`).toEqual(new Set([steps[i]!.state]));
    expect(states.length).toBeGreaterThan(0);
    expect(await currentEdges()).toEqual(arcInto(i));
    expect(await page.textContent('#position')).toContain(`Step ${i + 1} of ${steps.length}`);
    const row = page.locator(`#steps tr[data-step="${i}"]`);
    expect(await row.getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#steps tr.selected').count()).toBe(1);
  };

  it('loads without errors or requests and selects the first step', async () => {
    ready();
    expect(steps.length).toBeGreaterThan(30);
    await expectStep(0);
    expect(problems).toEqual([]);
    expect(requests).toEqual([pageUrl]);
  });

  it('moves the diagram with Next and Prev, step by step', async () => {
    ready();
    await page.click('#first');
    for (let i = 1; i <= 8; i++) {
      await page.click('#next');
      await expectStep(i);
    }
    await page.click('#prev');
    await expectStep(7);
  });

  it('walks every step with the arrow keys, the diagram following each', async () => {
    ready();
    await page.keyboard.press('Home');
    await expectStep(0);
    for (let i = 1; i < steps.length; i++) {
      await page.keyboard.press(i % 2 === 0 ? 'ArrowDown' : 'ArrowRight');
      await expectStep(i);
    }
    // At the end it stays at the end.
    await page.keyboard.press('ArrowDown');
    await expectStep(steps.length - 1);
    await page.keyboard.press('ArrowUp');
    await expectStep(steps.length - 2);
    await page.keyboard.press('ArrowLeft');
    await expectStep(steps.length - 3);
    await page.keyboard.press('Home');
    await expectStep(0);
  });

  it('jumps to a clicked row, and moves the chart cursors to its time', async () => {
    ready();
    const target = steps.find((s) => s.kind === 'state' && s.to === 'FIN-WAIT-1')!;
    await page.click(`#steps tr[data-step="${target.index}"] td.summary`);
    await expectStep(target.index);
    expect(await currentStates()).toContain('FIN-WAIT-1');
    const cursor = page.locator('[data-direction="sent"] .cursor');
    const x0 = Number(await page.getAttribute('[data-direction="sent"] svg.chart', 'data-x0'));
    expect(Number(await cursor.getAttribute('x1'))).toBeGreaterThan(x0);
  });

  it('switches the time–sequence graph between directions', async () => {
    ready();
    expect(await page.isVisible('[data-direction="sent"] svg')).toBe(true);
    expect(await page.isVisible('[data-direction="received"] svg')).toBe(false);
    await page.click('[data-show-direction="received"]');
    expect(await page.isVisible('[data-direction="received"] svg')).toBe(true);
    expect(await page.isVisible('[data-direction="sent"] svg')).toBe(false);
    await page.click('[data-show-direction="sent"]');
    expect(await page.isVisible('[data-direction="sent"] svg')).toBe(true);
  });

  it('shows something in a screenshot, the current state in its colour', async () => {
    ready();
    await page.keyboard.press('Home');
    const established = steps.find((s) => s.state === 'ESTABLISHED')!;
    await page.click(`#steps tr[data-step="${established.index}"] td.summary`);
    await page.evaluate('window.scrollTo(0, 0)');
    const png = await page.screenshot({ fullPage: true });
    const keep = process.env['TRACE_PAGE_SCREENSHOT'];
    if (keep) {
      // For a person to look at.
      writeFileSync(join(directory, 'screenshot.png'), png);
      copyFileSync(join(directory, 'screenshot.png'), keep);
    }
    expect(png.length).toBeGreaterThan(30_000);
    expect(png.length).toBeLessThan(20_000_000);
    const image = decodePng(png);
    expect(image.width).toBe(1400);
    expect(image.height).toBeGreaterThanOrEqual(1000);
    expect(distinctColours(image)).toBeGreaterThan(50);
    const box = await page.locator('#diagram .state.current rect').first().boundingBox();
    expect(box).not.toBeNull();
    // Left of the label, inside the box's border.
    expect(pixelAt(image, box!.x + 8, box!.y + box!.height / 2)).toBe(CURRENT_STATE_FILL);
    expect(problems).toEqual([]);
  });
});
