/**
 * `tcpts diagram`: the connection state machine drawn from its own definition
 * (core's `tcpMachine`), so the picture cannot drift from the code.
 */
import { writeFile } from 'node:fs/promises';
import { machineToDot, machineToMermaid, machineToSvg, tcpMachine } from '@tcpts/core';
import { CliFailure, ExitCode } from './errors.js';
import type { CliIo } from './fetch.js';

export const DIAGRAM_FORMATS = ['mermaid', 'dot', 'svg'] as const;
export type DiagramFormat = (typeof DIAGRAM_FORMATS)[number];

export interface DiagramOptions {
  readonly format: DiagramFormat;
  /** A file path; undefined or '-' for stdout. */
  readonly output?: string;
}

/** The diagram as text: a Mermaid `stateDiagram-v2`, a Graphviz digraph, or an SVG laid out like RFC 9293 Figure 5. */
export const renderDiagram = (format: DiagramFormat): string => {
  switch (format) {
    case 'mermaid':
      return machineToMermaid(tcpMachine);
    case 'dot':
      return machineToDot(tcpMachine);
    case 'svg': {
      const svg = machineToSvg(tcpMachine, { title: 'TCP connection states (RFC 9293 §3.3.2, Figure 5)' });
      return svg.endsWith('\n') ? svg : `${svg}\n`;
    }
  }
};

export const diagramCommand = async (options: DiagramOptions, io: CliIo): Promise<number> => {
  const text = renderDiagram(options.format);
  if (options.output === undefined || options.output === '-') {
    // Waits until the text is handed over: the process exits right after.
    await new Promise<void>((resolve) => io.stdout.write(text, () => resolve()));
    return ExitCode.ok;
  }
  try {
    await writeFile(options.output, text);
    return ExitCode.ok;
  } catch (error) {
    const failure = new CliFailure(
      ExitCode.writeError,
      `Failed writing ${options.output}: ${error instanceof Error ? error.message : String(error)}`,
    );
    io.stderr.write(`tcpts: ${failure.message}\n`);
    return failure.exitCode;
  }
};
