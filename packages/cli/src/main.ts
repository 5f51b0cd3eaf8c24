/**
 * `tcpts`: fetch web pages over our own TCP/IP stack.
 * `run` holds everything; `main` runs it as the program (tcpts.ts starts it, from the bundle).
 */
import { isIPv4 } from 'node:net';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { demoCommand, type DemoDependencies } from './demo.js';
import { DIAGRAM_FORMATS, diagramCommand, type DiagramFormat } from './diagram.js';
import { ExitCode, exitCodeHelp } from './errors.js';
import { fetchCommand, type CliIo, type FetchDependencies } from './fetch.js';
import { DEFAULT_INSPECTOR_URL, parseInspectorUrl } from './inspector-url.js';
import { replayCommand } from './replay.js';
import { openPcapStack } from './stack.js';
import { systemProbe } from './system.js';
import { systemLookup } from './url.js';

export const version = '0.1.0';

export interface RunDependencies extends FetchDependencies {
  readonly demo?: Partial<DemoDependencies>;
}

export const defaultDependencies: RunDependencies = {
  openStack: openPcapStack,
  lookup: systemLookup,
  system: systemProbe,
  now: () => performance.now(),
};

const integerIn =
  (name: string, min: number, max: number) =>
  (text: string): number => {
    if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError(`${name} must be a whole number.`);
    const value = Number(text);
    if (value < min || value > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}.`);
    return value;
  };

const ipv4Address = (name: string) => (text: string): string => {
  if (!isIPv4(text)) throw new InvalidArgumentError(`${name} must be a dotted-quad IPv4 address.`);
  return text;
};

const macAddress = (text: string): string => {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text)) throw new InvalidArgumentError('must look like 02:00:00:00:00:01.');
  return text.toLowerCase();
};

const exitCodeText = (): string =>
  `\nExit codes:\n${exitCodeHelp.map(([code, meaning]) => `  ${String(code).padStart(3)}  ${meaning}`).join('\n')}\n`;

interface FetchCommandOptions {
  iface?: string;
  ip: string;
  mac?: string;
  prefix?: number;
  gateway?: string;
  output?: string;
  verbose?: boolean;
  stats?: boolean;
  fail?: boolean;
  location?: boolean;
  timeout: number;
  maxTime: number;
  cc?: 'newreno' | 'cubic';
  capture?: 'libpcap' | 'packet-ring' | 'auto';
  /** `true` when given without a URL. */
  inspect?: string | true;
  trace?: string;
  record?: string;
}

interface ReplayCommandOptions {
  trace?: string;
}

interface DiagramCommandOptions {
  format: DiagramFormat;
  output?: string;
}

interface DemoCommandOptions {
  megabytes: number;
  keep?: boolean;
}

const buildProgram = (io: CliIo, deps: RunDependencies, setExitCode: (code: number) => void): Command => {
  const program = new Command('tcpts')
    .description('Fetch web pages over a user-space TCP/IP stack (Ethernet, ARP, IPv4, TCP) on a raw interface.')
    .version(version)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showSuggestionAfterError()
    .addHelpText('after', exitCodeText());

  program
    .command('fetch')
    .description('GET an http:// URL over our stack and write the body to stdout or a file')
    .argument('<url>', 'http:// URL (a bare host/path is taken as http://)')
    .option('--iface <dev>', 'interface to open (default: the one the kernel routes the destination through)')
    .requiredOption('--ip <addr>', "our stack's IPv4 address (not one the kernel owns)", ipv4Address('--ip'))
    .option('--mac <mac>', "our stack's MAC address (default: random, locally administered)", macAddress)
    .option('--prefix <len>', 'on-link prefix length (default: from the kernel address on the interface)', integerIn('--prefix', 0, 32))
    .option('--gateway <addr>', 'next hop for off-link destinations (default: from the kernel route)', ipv4Address('--gateway'))
    .option('-o, --output <file>', 'write the body to <file> instead of stdout ("-" for stdout)')
    .option('-v, --verbose', 'trace connection states, segments and HTTP headers on stderr')
    .option('--stats', 'print bytes, seconds and MB/s on stderr when done (implied by -v)')
    .option('-f, --fail', 'fail with exit code 22 on HTTP status >= 400, writing no body')
    .option('-L, --location', 'follow redirects (at most 5)')
    .addOption(
      new Option('--timeout <ms>', 'give up connecting after <ms>').default(30_000).argParser(integerIn('--timeout', 1, 86_400_000)),
    )
    .addOption(
      new Option('--max-time <ms>', 'give up on the whole transfer after <ms>')
        .default(300_000)
        .argParser(integerIn('--max-time', 1, 86_400_000)),
    )
    .addOption(
      new Option('--cc <algorithm>', 'congestion control of our sender (RFC 5681/6582 or RFC 9438)').choices([
        'newreno',
        'cubic',
      ]),
    )
    .addOption(
      new Option(
        '--capture <kind>',
        'how frames reach the interface: packet-ring (Linux PACKET_MMAP rings, our addon: fewer calls per frame, checksum offload), libpcap (npm cap), or auto (the ring where its addon loads)',
      )
        .choices(['auto', 'packet-ring', 'libpcap'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--inspect [url]',
        `show each connection's state machine live in the XState inspector listening at [url] (default ${DEFAULT_INSPECTOR_URL})`,
      ).argParser(parseInspectorUrl),
    )
    .option('--trace <file>', 'write an HTML page to step through the connection (states, segments, cwnd and RTT) to <file>')
    .option('--record <file>', 'record every call into the stack to <file> (JSON lines), for `tcpts replay`')
    .addHelpText('after', exitCodeText())
    .action(async (url: string, options: FetchCommandOptions) => {
      setExitCode(
        await fetchCommand(
          {
            url,
            ip: options.ip,
            verbose: options.verbose === true,
            stats: options.stats === true,
            fail: options.fail === true,
            followRedirects: options.location === true,
            maxRedirects: 5,
            connectTimeoutMs: options.timeout,
            maxTimeMs: options.maxTime,
            ...(options.iface === undefined ? {} : { iface: options.iface }),
            ...(options.mac === undefined ? {} : { mac: options.mac }),
            ...(options.prefix === undefined ? {} : { prefixLength: options.prefix }),
            ...(options.gateway === undefined ? {} : { gateway: options.gateway }),
            ...(options.output === undefined ? {} : { output: options.output }),
            ...(options.cc === undefined ? {} : { congestion: options.cc }),
            ...(options.capture === undefined ? {} : { capture: options.capture }),
            ...(options.inspect === undefined
              ? {}
              : { inspectUrl: options.inspect === true ? DEFAULT_INSPECTOR_URL : options.inspect }),
            ...(options.trace === undefined ? {} : { tracePath: options.trace }),
            ...(options.record === undefined ? {} : { recordPath: options.record }),
          },
          io,
          deps,
        ),
      );
    });

  program
    .command('demo')
    .description(
      'Build a namespace lab, serve a page and a random file from the kernel, fetch both over our stack, ' +
        'check their sha256 and compare the rate with the kernel (curl). Needs root.',
    )
    .addOption(
      new Option('--megabytes <n>', 'size of the random file').default(10).argParser(integerIn('--megabytes', 1, 1024)),
    )
    .option('--keep', 'keep the temporary directory (the lab is always removed)')
    .action(async (options: DemoCommandOptions) => {
      setExitCode(await demoCommand({ megabytes: options.megabytes, keepFiles: options.keep === true }, io, deps.demo));
    });

  program
    .command('replay')
    .description(
      'Replay a recording made by `fetch --record` on a fresh host and check that every result is the same as recorded',
    )
    .argument('<file>', 'the recording')
    .option('--trace <file>', "write the replayed connection's HTML trace page to <file>")
    .addHelpText(
      'after',
      '\nExit codes:\n    0  identical\n    1  different (the first difference is printed)\n' +
        '    2  the file cannot be read or is not a recording\n   23  the trace page could not be written\n',
    )
    .action(async (file: string, options: ReplayCommandOptions) => {
      setExitCode(await replayCommand({ file, ...(options.trace === undefined ? {} : { tracePath: options.trace }) }, io));
    });

  program
    .command('diagram')
    .description("Print the TCP connection state machine's diagram, drawn from the machine itself")
    .addOption(new Option('--format <format>', 'mermaid, Graphviz dot, or a standalone svg').choices(DIAGRAM_FORMATS).default('mermaid'))
    .option('-o, --output <file>', 'write the diagram to <file> instead of stdout')
    .action(async (options: DiagramCommandOptions) => {
      setExitCode(
        await diagramCommand({ format: options.format, ...(options.output === undefined ? {} : { output: options.output }) }, io),
      );
    });

  return program;
};

/**
 * Runs the command line `argv` (without node and script) and returns the exit
 * code; nothing here exits the process, so tests call it directly.
 */
export const run = async (argv: readonly string[], io: CliIo, deps: RunDependencies = defaultDependencies): Promise<number> => {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(io, deps, (code) => {
    exitCode = code;
  });
  try {
    // `pnpm tcpts -- fetch …` hands the separator on to us: before the command it means nothing.
    const args = argv[0] === '--' ? argv.slice(1) : [...argv];
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end the parse "with an error" of code 0; every real parse error is a usage error.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`tcpts: unexpected failure: ${message}\n`);
    return ExitCode.couldNotConnect;
  }
};

/** `run` as the program: with the process's own streams and signals, exiting with its code. */
export const main = async (): Promise<void> => {
  const interrupt = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    // A second interrupt means the user does not want to wait for the cleanup.
    if (signals > 1) process.exit(ExitCode.interrupted);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: interrupt.signal });
  // Capture handles may keep the event loop alive; everything of ours is flushed and closed by now.
  process.exit(code);
};

