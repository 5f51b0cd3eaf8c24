/**
 * `tcpts diagram` and the README's copy of it: every state and arc of the
 * machine is in each format, and the README's Mermaid block is exactly what
 * the command prints, so the README cannot drift from the machine.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineGraph, tcpMachine, TCP_STATES } from '@tcpts/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from './errors.js';
import { runCli } from './testing/run-cli.js';


const dir = mkdtempSync(join(tmpdir(), 'tcpts-diagram-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const graph = machineGraph(tcpMachine);

describe('tcpts diagram', () => {
  it('prints a Mermaid state diagram with every state and arc by default', async () => {
    const result = await runCli(['diagram']);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('stateDiagram-v2');
    for (const state of TCP_STATES) expect(result.stdout).toContain(`state "${state}" as `);
    expect(lines.filter((line) => / --> /.test(line) && !line.includes('[*]'))).toHaveLength(graph.arcs.length);
    expect((await runCli(['diagram', '--format', 'mermaid'])).stdout).toBe(result.stdout);
  });

  it('prints Graphviz DOT', async () => {
    const result = await runCli(['diagram', '--format', 'dot']);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout).toMatch(/^digraph "tcp" \{\n/);
    expect(result.stdout.trimEnd().endsWith('}')).toBe(true);
    for (const arc of graph.arcs) expect(result.stdout).toContain(`"${arc.source}" -> "${arc.target}"`);
  });

  it('writes a standalone SVG with -o', async () => {
    const file = join(dir, 'states.svg');
    const result = await runCli(['diagram', '--format', 'svg', '-o', file]);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout).toBe('');
    const svg = readFileSync(file, 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    for (const state of TCP_STATES) expect(svg).toContain(`data-state="${state}"`);
  });

  it('exits 23 with one line when the file cannot be written, and 2 on an unknown format', async () => {
    const unwritable = await runCli(['diagram', '-o', join(dir, 'no', 'such', 'dir.mmd')]);
    expect(unwritable.code).toBe(ExitCode.writeError);
    expect(unwritable.stderr).toMatch(/^tcpts: Failed writing .*dir\.mmd: ENOENT[^\n]*\n$/);
    const unknown = await runCli(['diagram', '--format', 'png']);
    expect(unknown.code).toBe(ExitCode.usage);
    expect(unknown.stderr).toMatch(/--format.*png.*mermaid, dot, svg/);
  });
});

describe('README', () => {
  it("shows exactly the machine's diagram under \"The state machine\"", async () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    const section = readme.split(/^## /m).find((part) => part.startsWith('The state machine\n'));
    expect(section).toBeDefined();
    const block = /```mermaid\n([\s\S]*?)```/.exec(section!);
    expect(block).not.toBeNull();
    expect(block![1]).toBe((await runCli(['diagram'])).stdout);
  });
});
