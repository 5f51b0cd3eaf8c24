import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';

/** A kernel TCP receiver for upload tests: one connection, read to its end. */
export interface Sha256Sink {
  /** `<bytes> <sha256 hex>` of what it received, once the sender has closed; rejects after `timeoutMs`. */
  received(timeoutMs: number, what: string): Promise<string>;
  stop(): void;
}

/** What `received` gives for `content`. */
export const sha256Summary = (content: Uint8Array): string => `${content.length} ${createHash('sha256').update(content).digest('hex')}`;

/**
 * Starts a Python receiver in namespace `ns` listening on ip:port, and resolves
 * once it accepts connections. The kernel checks every segment's checksum.
 */
export async function startSha256Sink(ns: string, ip: string, port: number): Promise<Sha256Sink> {
  const script = [
    'import hashlib, socket',
    's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    `s.bind(('${ip}', ${port})); s.listen(1); print('ready', flush=True)`,
    'c, _ = s.accept(); h = hashlib.sha256(); n = 0',
    'while True:',
    '    b = c.recv(1 << 20)',
    '    if not b: break',
    '    h.update(b); n += len(b)',
    'print(n, h.hexdigest(), flush=True)',
  ].join('\n');
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  const until = async (predicate: () => boolean, timeoutMs: number, what: string): Promise<void> => {
    for (let waited = 0; !predicate(); waited += 20) {
      if (waited > timeoutMs) throw new Error(`${what}; the receiver said ${JSON.stringify(output)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  try {
    await until(() => output.startsWith('ready\n'), 20_000, 'the receiver did not start');
  } catch (error) {
    child.kill();
    throw error;
  }
  return {
    received: async (timeoutMs, what) => {
      await until(() => output.split('\n').length > 2, timeoutMs, what);
      return output.split('\n')[1]!;
    },
    stop: () => child.kill(),
  };
}
