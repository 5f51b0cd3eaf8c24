import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CliFailure, ExitCode } from './errors.js';
import { parseFetchUrl, resolveLocation, resolveTarget, systemLookup } from './url.js';

const failureOf = async (run: () => unknown): Promise<CliFailure> => {
  try {
    await run();
  } catch (error) {
    if (error instanceof CliFailure) return error;
    throw error;
  }
  throw new Error('expected a CliFailure');
};

describe('parseFetchUrl', () => {
  it('takes host, port and origin-form path from an http URL', () => {
    const target = parseFetchUrl('http://example.test:8080/a/b?x=1#frag');
    expect(target).toMatchObject({ host: 'example.test', port: 8080, path: '/a/b?x=1', hostIsAddress: false });
  });

  it('defaults the port to 80 and the path to /', () => {
    expect(parseFetchUrl('http://example.test')).toMatchObject({ port: 80, path: '/' });
  });

  it('takes a URL without scheme as http, as curl does', () => {
    expect(parseFetchUrl('198.18.1.1:8080/index.html')).toMatchObject({
      host: '198.18.1.1',
      port: 8080,
      path: '/index.html',
      hostIsAddress: true,
    });
  });

  it('normalises IPv4 literals with the WHATWG rules', () => {
    expect(parseFetchUrl('http://0x7f.1/').host).toBe('127.0.0.1');
  });

  it('percent-encodes what cannot go on the request line', () => {
    expect(parseFetchUrl('http://h/a b\u00e9').path).toBe('/a%20b%C3%A9');
  });

  it('turns user:password into a Basic authorization', () => {
    const target = parseFetchUrl('http://user:p%40ss@h/');
    expect(target.authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  });

  it.each([['http://'], ['http://exa mple/'], ['http://h:99999/'], ['   '], ['http://h:0/'], ['ht!tp://x'], ['://h/'], ['http://a!b/'], ['http://a..b/'], ['http://-a/'], [`http://${'a'.repeat(64)}.test/`]])(
    'rejects the malformed URL %j with exit code 3',
    async (raw) => {
      expect((await failureOf(() => parseFetchUrl(raw))).exitCode).toBe(ExitCode.malformedUrl);
    },
  );

  it('refuses https with a clear message and exit code 1', async () => {
    const failure = await failureOf(() => parseFetchUrl('https://example.test/'));
    expect(failure.exitCode).toBe(ExitCode.unsupportedProtocol);
    expect(failure.message).toMatch(/https.*not supported/);
  });

  it.each([['ftp://h/'], ['file:///etc/passwd'], ['http://[::1]/']])('refuses %j with exit code 1', async (raw) => {
    expect((await failureOf(() => parseFetchUrl(raw))).exitCode).toBe(ExitCode.unsupportedProtocol);
  });

  it('takes DNS names with hyphens, underscores, digits and a trailing dot, and IDNs in punycode', () => {
    expect(parseFetchUrl('http://my-host_1.example.test./').host).toBe('my-host_1.example.test.');
    expect(parseFetchUrl('http://b\u00fccher.test/').host).toBe('xn--bcher-kva.test');
    expect(parseFetchUrl('localhost:8080/x')).toMatchObject({ host: 'localhost', port: 8080, path: '/x' });
  });

  it('keeps any port and plain path it is given', () => {
    const segment = fc.stringMatching(/^[a-z0-9._~-]{1,12}$/);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.array(segment, { maxLength: 5 }), (port, segments) => {
        const path = `/${segments.join('/')}`;
        const target = parseFetchUrl(`http://198.18.0.9:${port}${path}`);
        expect(target.port).toBe(port);
        // WHATWG drops "." and ".." segments; everything else stays.
        const expected = new URL(`http://x${path}`).pathname;
        expect(target.path).toBe(expected);
      }),
    );
  });
});

describe('resolveTarget', () => {
  it('uses an IPv4 literal as is, without asking the resolver', async () => {
    const address = await resolveTarget(parseFetchUrl('http://198.18.1.1/'), () => Promise.reject(new Error('asked')));
    expect(address).toBe('198.18.1.1');
  });

  it('asks the resolver for names', async () => {
    const asked: string[] = [];
    const address = await resolveTarget(parseFetchUrl('http://server.test/'), async (host) => {
      asked.push(host);
      return '198.18.5.5';
    });
    expect(address).toBe('198.18.5.5');
    expect(asked).toEqual(['server.test']);
  });

  it('maps a resolver failure to exit code 6', async () => {
    const failure = await failureOf(() =>
      resolveTarget(parseFetchUrl('http://server.test/'), () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))),
    );
    expect(failure.exitCode).toBe(ExitCode.couldNotResolveHost);
    expect(failure.message).toBe('Could not resolve host: server.test (ENOTFOUND)');
  });

  it('cannot resolve a name under .invalid with the system resolver', async () => {
    const failure = await failureOf(() => resolveTarget(parseFetchUrl('http://nothing-here.invalid/'), systemLookup));
    expect(failure.exitCode).toBe(ExitCode.couldNotResolveHost);
  });
});

describe('resolveLocation', () => {
  it('resolves relative and absolute locations', () => {
    const base = new URL('http://h:8080/dir/page');
    expect(resolveLocation('other', base)).toBe('http://h:8080/dir/other');
    expect(resolveLocation('/top', base)).toBe('http://h:8080/top');
    expect(resolveLocation('http://x/y', base)).toBe('http://x/y');
    expect(resolveLocation('http://[', base)).toBeUndefined();
  });
});
