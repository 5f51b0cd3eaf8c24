import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildRequest,
  HttpParseError,
  HttpResponseParser,
  type HttpParseEvent,
  type ResponseParserOptions,
  requestHeadLines,
} from './http.js';

const ascii = (text: string): Uint8Array => new Uint8Array([...text].map((c) => c.charCodeAt(0)));
const text = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Splits `bytes` at the given cut points (any values; reduced modulo the length). */
const splitAt = (bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] => {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(from, p));
    from = p;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
};

interface ParseResult {
  readonly events: HttpParseEvent[];
  readonly body: Uint8Array;
  readonly parser: HttpResponseParser;
}

/** Feeds every piece, then (unless the response completed) the end of stream. */
const parseAll = (pieces: readonly Uint8Array[], options?: ResponseParserOptions, close = true): ParseResult => {
  const parser = new HttpResponseParser(options);
  const events: HttpParseEvent[] = [];
  for (const piece of pieces) events.push(...parser.push(piece));
  if (close) events.push(...parser.end());
  const body = concat(events.flatMap((e) => (e.kind === 'body' ? [e.bytes.slice()] : [])));
  return { events, body, parser };
};

const parseError = (run: () => unknown): HttpParseError => {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpParseError) return error;
    throw error;
  }
  throw new Error('expected an HttpParseError');
};

type Framing =
  | { readonly kind: 'content-length' }
  | { readonly kind: 'chunked'; readonly sizes: readonly number[]; readonly extensions: boolean; readonly trailers: boolean }
  | { readonly kind: 'until-close' };

/** Encodes a 200 response carrying `body` with the given framing. */
const encodeResponse = (body: Uint8Array, framing: Framing): Uint8Array => {
  const head = ['HTTP/1.1 200 OK', 'Server: test', 'Content-Type: application/octet-stream'];
  switch (framing.kind) {
    case 'content-length':
      return concat([ascii([...head, `Content-Length: ${body.length}`, '', ''].join('\r\n')), body]);
    case 'until-close':
      return concat([ascii([...head, '', ''].join('\r\n')), body]);
    case 'chunked': {
      const parts = [ascii([...head, 'Transfer-Encoding: chunked', '', ''].join('\r\n'))];
      let at = 0;
      let i = 0;
      while (at < body.length) {
        const size = Math.max(1, Math.min(framing.sizes[i % Math.max(1, framing.sizes.length)] ?? 1, body.length - at));
        const extension = framing.extensions && i % 2 === 0 ? `;name${i}=value` : '';
        parts.push(ascii(`${size.toString(16)}${extension}\r\n`), body.subarray(at, at + size), ascii('\r\n'));
        at += size;
        i++;
      }
      parts.push(ascii(framing.trailers ? '0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n' : '0\r\n\r\n'));
      return concat(parts);
    }
  }
};

const framingArbitrary: fc.Arbitrary<Framing> = fc.oneof(
  fc.constant<Framing>({ kind: 'content-length' }),
  fc.constant<Framing>({ kind: 'until-close' }),
  fc.record({
    kind: fc.constant('chunked' as const),
    sizes: fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 8 }),
    extensions: fc.boolean(),
    trailers: fc.boolean(),
  }),
);

describe('buildRequest', () => {
  it('writes a GET with the standard fields and an empty line', () => {
    const request = text(buildRequest({ host: 'example.test', port: 80, path: '/a/b?c=d' }));
    expect(request).toBe(
      'GET /a/b?c=d HTTP/1.1\r\nHost: example.test\r\nUser-Agent: tcpts/0.1\r\nAccept: */*\r\nConnection: close\r\n\r\n',
    );
  });

  it('puts the port in Host when it is not 80', () => {
    const lines = requestHeadLines({ host: '198.18.1.1', port: 8080, path: '/' });
    expect(lines).toContain('Host: 198.18.1.1:8080');
  });

  it('sends extra fields and other methods', () => {
    const lines = requestHeadLines(
      { host: 'h', port: 80, path: '/' },
      { method: 'HEAD', headers: [['Authorization', 'Basic dTpw']] },
    );
    expect(lines[0]).toBe('HEAD / HTTP/1.1');
    expect(lines[lines.length - 1]).toBe('Authorization: Basic dTpw');
  });

  it('refuses targets and values that would split the request', () => {
    expect(() => buildRequest({ host: 'h', port: 80, path: '/a\r\nX: y' })).toThrow(RangeError);
    expect(() => buildRequest({ host: 'h', port: 80, path: 'relative' })).toThrow(RangeError);
    expect(() => buildRequest({ host: 'h\r\n', port: 80, path: '/' })).toThrow(RangeError);
  });
});

describe('HttpResponseParser', () => {
  it('parses a Content-Length response and completes without waiting for close', () => {
    const { events, body, parser } = parseAll([ascii('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')], {}, false);
    expect(events[0]).toMatchObject({ kind: 'head', framing: 'content-length' });
    expect(text(body)).toBe('hello');
    expect(events[events.length - 1]).toEqual({ kind: 'complete' });
    expect(parser.isComplete).toBe(true);
    expect(parser.progress).toEqual({ bodyBytes: 5, totalBytes: 5 });
  });

  it('reads the status line fields and looks headers up case-insensitively', () => {
    const { parser } = parseAll([ascii('HTTP/1.0 404 Not Found\r\ncontent-LENGTH: 0\r\nX-A: 1\r\nx-a: 2\r\n\r\n')], {}, false);
    const head = parser.head!;
    expect(head.status).toBe(404);
    expect(head.reason).toBe('Not Found');
    expect(head.httpVersion).toBe('1.0');
    expect(head.headers.get('Content-Length')).toBe('0');
    expect(head.headers.get('X-A')).toBe('1, 2');
    expect(head.headers.getAll('x-A')).toEqual(['1', '2']);
    expect(head.headers.has('missing')).toBe(false);
  });

  it('accepts a status line without reason phrase and bare LF line ends', () => {
    const { parser, body } = parseAll([ascii('HTTP/1.1 200\nContent-Length: 2\n\nok')]);
    expect(parser.head?.reason).toBe('');
    expect(text(body)).toBe('ok');
  });

  it('joins obsolete folded header lines to the previous field', () => {
    const { parser } = parseAll([ascii('HTTP/1.1 200 OK\r\nX-Long: first\r\n  second\r\n\tthird\r\nContent-Length: 0\r\n\r\n')]);
    expect(parser.head?.headers.get('x-long')).toBe('first second third');
  });

  it('skips 1xx interim responses', () => {
    const { events, body } = parseAll([ascii('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc')]);
    expect(events.map((e) => e.kind)).toEqual(['interim', 'head', 'body', 'complete']);
    expect(text(body)).toBe('abc');
  });

  it.each([
    ['204', 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n', 'GET'],
    ['304', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', 'GET'],
    ['HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', 'HEAD'],
  ] as const)('a %s response has no body', (_name, response, method) => {
    const parser = new HttpResponseParser({ method });
    const events = parser.push(ascii(response));
    expect(events.map((e) => e.kind)).toEqual(['head', 'complete']);
    expect(parser.isComplete).toBe(true);
  });

  it('prefers Transfer-Encoding over Content-Length', () => {
    const { body, events } = parseAll([
      ascii('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'),
    ]);
    expect(events[0]).toMatchObject({ framing: 'chunked' });
    expect(text(body)).toBe('abc');
  });

  it('reads until close when the transfer coding is not chunked last', () => {
    const { body, events } = parseAll([ascii('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz')]);
    expect(events[0]).toMatchObject({ framing: 'until-close' });
    expect(text(body)).toBe('xyz');
  });

  it('keeps trailers and ignores chunk extensions', () => {
    const { body, parser } = parseAll(
      [ascii('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=b;c\r\nhi\r\n1 ; q="x"\r\n!\r\n0\r\nDigest: d\r\n\r\n')],
      {},
      false,
    );
    expect(text(body)).toBe('hi!');
    expect(parser.isComplete).toBe(true);
    expect(parser.trailers.get('digest')).toBe('d');
  });

  it('accepts repeated identical Content-Length values and rejects differing ones', () => {
    expect(text(parseAll([ascii('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab')]).body)).toBe('ab');
    const error = parseError(() => parseAll([ascii('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab')]));
    expect(error.code).toBe('bad-content-length');
    expect(parseError(() => parseAll([ascii('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n')])).code).toBe(
      'bad-content-length',
    );
  });

  it.each([
    ['HTTP/1.1 OK\r\n\r\n'],
    ['HTTP/2 200 OK\r\n\r\n'],
    ['ICY 200 OK\r\n\r\n'],
    ['<html>hello</html>\r\n'],
    ['HTTP/1.1 20 OK\r\n\r\n'],
  ])('rejects the malformed status line %j', (response) => {
    expect(parseError(() => parseAll([ascii(response)])).code).toBe('malformed-status-line');
  });

  it('rejects header lines without a field name', () => {
    expect(parseError(() => parseAll([ascii('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n')])).code).toBe('malformed-header');
    expect(parseError(() => parseAll([ascii('HTTP/1.1 200 OK\r\n  fold first\r\n\r\n')])).code).toBe('malformed-header');
    expect(parseError(() => parseAll([ascii('HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n')])).code).toBe('malformed-header');
  });

  it.each([['zz'], [''], ['-1'], ['12345678901234'], ['0x10']])('rejects the chunk size %j', (size) => {
    const response = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nabc\r\n0\r\n\r\n`;
    expect(parseError(() => parseAll([ascii(response)])).code).toBe('bad-chunk-size');
  });

  it('rejects chunk data longer than its size', () => {
    const response = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n';
    expect(parseError(() => parseAll([ascii(response)])).code).toBe('bad-chunk-data');
  });

  it('bounds the size of the head', () => {
    const huge = `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(2000)}\r\n\r\n`;
    expect(parseError(() => parseAll([ascii(huge)], { maxHeadBytes: 1024 })).code).toBe('header-too-large');
  });

  it('keeps failing after an error', () => {
    const parser = new HttpResponseParser();
    expect(() => parser.push(ascii('garbage\r\n'))).toThrow(HttpParseError);
    expect(() => parser.push(ascii('HTTP/1.1 200 OK\r\n'))).toThrow(HttpParseError);
    expect(() => parser.end()).toThrow(HttpParseError);
  });

  it('reports an empty reply', () => {
    expect(parseError(() => parseAll([])).code).toBe('empty-reply');
  });

  it('reports progress with the total when known', () => {
    const parser = new HttpResponseParser();
    parser.push(ascii('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n1234'));
    expect(parser.progress).toEqual({ bodyBytes: 4, totalBytes: 10 });
    const chunked = new HttpResponseParser();
    chunked.push(ascii('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n1234'));
    expect(chunked.progress).toEqual({ bodyBytes: 4, totalBytes: undefined });
  });

  it('ignores bytes after a complete response', () => {
    const { body, parser } = parseAll([ascii('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naEXTRA'), ascii('more')]);
    expect(text(body)).toBe('a');
    expect(parser.isComplete).toBe(true);
  });
});

describe('HttpResponseParser properties', () => {
  const bodyArbitrary = fc.uint8Array({ minLength: 0, maxLength: 3000 });
  const cutsArbitrary = fc.array(fc.nat(), { maxLength: 40 });

  it('any body, framing and split of the stream parses back to the same body', () => {
    fc.assert(
      fc.property(bodyArbitrary, framingArbitrary, cutsArbitrary, (body, framing, cuts) => {
        const wire = encodeResponse(body, framing);
        const { body: parsed, parser } = parseAll(splitAt(wire, cuts));
        expect(parser.isComplete).toBe(true);
        expect(parsed).toEqual(body);
        expect(parser.progress.bodyBytes).toBe(body.length);
      }),
      { numRuns: 300 },
    );
  });

  it('one byte at a time parses back to the same body', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), framingArbitrary, (body, framing) => {
        const wire = encodeResponse(body, framing);
        const pieces = Array.from({ length: wire.length }, (_, i) => wire.subarray(i, i + 1));
        expect(parseAll(pieces).body).toEqual(body);
      }),
      { numRuns: 100 },
    );
  });

  it('a close before the end of a Content-Length or chunked body is reported as truncated, keeping the bytes seen', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 2000 }),
        framingArbitrary.filter((f) => f.kind !== 'until-close'),
        fc.nat(),
        cutsArbitrary,
        (body, framing, cut, cuts) => {
          const wire = encodeResponse(body, framing);
          const headLength = wire.length - (framing.kind === 'content-length' ? body.length : 0);
          // Cut strictly inside the message, after at least one byte.
          const keep = 1 + (cut % (wire.length - 1));
          const parser = new HttpResponseParser();
          const received: Uint8Array[] = [];
          for (const piece of splitAt(wire.subarray(0, keep), cuts)) {
            for (const e of parser.push(piece)) if (e.kind === 'body') received.push(e.bytes.slice());
          }
          expect(parseError(() => parser.end()).code).toBe('truncated');
          const got = concat(received);
          // Every byte handed on is a true prefix of the body.
          expect(got).toEqual(body.subarray(0, got.length));
          if (framing.kind === 'content-length' && keep > headLength) expect(got.length).toBe(keep - headLength);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('header names are looked up regardless of case', () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
    fc.assert(
      fc.property(name, fc.stringMatching(/^[ -~]{0,20}$/), (field, value) => {
        const response = `HTTP/1.1 200 OK\r\n${field}: ${value}\r\nContent-Length: 0\r\n\r\n`;
        const { parser } = parseAll([ascii(response)], {}, false);
        const wanted = field.toLowerCase() === 'content-length' ? undefined : value.trim();
        if (wanted !== undefined) {
          expect(parser.head?.headers.get(field.toUpperCase())).toBe(wanted);
          expect(parser.head?.headers.get(field.toLowerCase())).toBe(wanted);
        }
      }),
      { numRuns: 200 },
    );
  });
});
