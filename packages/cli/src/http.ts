/**
 * HTTP/1.1 client side, without I/O: a request builder and an incremental
 * response parser (RFC 9112) that accepts the byte stream split anywhere and
 * hands the body on as it arrives, so a body of any size streams through.
 */

export type HttpMethod = 'GET' | 'HEAD';

export interface HttpRequestTarget {
  /** Host name or IPv4 literal, as written in the URL. */
  readonly host: string;
  readonly port: number;
  /** Origin-form request target: path and query (RFC 9112 §3.2.1). */
  readonly path: string;
}

export interface BuildRequestOptions {
  readonly method?: HttpMethod;
  /** Extra header fields, sent after the standard ones. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

export const userAgent = 'tcpts/0.1';

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const forbiddenInLine = /[\r\n\0]/;

const encodeLatin1 = (text: string): Uint8Array => {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new RangeError(`not encodable in a header: U+${code.toString(16)}`);
    bytes[i] = code;
  }
  return bytes;
};

const decodeLatin1 = (bytes: Uint8Array): string => {
  let text = '';
  // Chunked so very long lines do not overflow the argument list.
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
};

/** The Host field value: the port is omitted only when it is the default (RFC 9110 §7.2). */
export const hostHeaderValue = (target: Pick<HttpRequestTarget, 'host' | 'port'>): string =>
  target.port === 80 ? target.host : `${target.host}:${target.port}`;

/**
 * The request head, as lines without their CRLF (also what `-v` prints).
 * `Connection: close` makes the server delimit the response by closing when it
 * has no length of its own (RFC 9112 §9.6), and frees us from pipelining.
 */
export const requestHeadLines = (target: HttpRequestTarget, options: BuildRequestOptions = {}): string[] => {
  const method = options.method ?? 'GET';
  const fields: Array<readonly [string, string]> = [
    ['Host', hostHeaderValue(target)],
    ['User-Agent', userAgent],
    ['Accept', '*/*'],
    ['Connection', 'close'],
    ...(options.headers ?? []),
  ];
  if (!target.path.startsWith('/') || forbiddenInLine.test(target.path) || /\s/.test(target.path)) {
    throw new RangeError(`invalid request target: ${JSON.stringify(target.path)}`);
  }
  for (const [name, value] of fields) {
    if (!tokenPattern.test(name)) throw new RangeError(`invalid header name: ${JSON.stringify(name)}`);
    if (forbiddenInLine.test(value)) throw new RangeError(`invalid value for ${name}`);
  }
  return [`${method} ${target.path} HTTP/1.1`, ...fields.map(([name, value]) => `${name}: ${value}`)];
};

/** The whole request as bytes: head lines, each ended by CRLF, then the empty line. */
export const buildRequest = (target: HttpRequestTarget, options: BuildRequestOptions = {}): Uint8Array =>
  encodeLatin1(requestHeadLines(target, options).map((line) => `${line}\r\n`).join('') + '\r\n');

/** Header fields as received, with case-insensitive lookup. */
export class HttpHeaders {
  private readonly fields: Array<[string, string]> = [];

  /** Fields in arrival order, names as the server spelled them. */
  get entries(): ReadonlyArray<readonly [string, string]> {
    return this.fields;
  }

  append(name: string, value: string): void {
    this.fields.push([name, value]);
  }

  /** RFC 9112 §5.2 obs-fold: a continuation line joins the previous field's value with one space. */
  continueLast(text: string): boolean {
    const last = this.fields[this.fields.length - 1];
    if (last === undefined) return false;
    last[1] = last[1] === '' ? text : `${last[1]} ${text}`;
    return true;
  }

  /** Every value of a field, in order. */
  getAll(name: string): string[] {
    const wanted = name.toLowerCase();
    return this.fields.filter(([n]) => n.toLowerCase() === wanted).map(([, v]) => v);
  }

  /** A field's values combined into one, comma-separated (RFC 9110 §5.3). */
  get(name: string): string | undefined {
    const values = this.getAll(name);
    return values.length === 0 ? undefined : values.join(', ');
  }

  has(name: string): boolean {
    return this.getAll(name).length > 0;
  }
}

export interface ResponseHead {
  readonly httpVersion: string;
  readonly status: number;
  readonly reason: string;
  readonly headers: HttpHeaders;
  /** The status line and header lines as received (for `-v`), without line ends. */
  readonly rawLines: readonly string[];
}

/** How the body's end is known (RFC 9112 §6.3). */
export type BodyFraming = 'none' | 'content-length' | 'chunked' | 'until-close';

export type HttpParseErrorCode =
  | 'malformed-status-line'
  | 'malformed-header'
  | 'header-too-large'
  | 'bad-content-length'
  | 'bad-chunk-size'
  | 'bad-chunk-data'
  | 'truncated'
  | 'empty-reply';

export class HttpParseError extends Error {
  constructor(
    readonly code: HttpParseErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpParseError';
  }
}

export type HttpParseEvent =
  /** A 1xx interim response; the final one follows (RFC 9110 §15.2). */
  | { readonly kind: 'interim'; readonly head: ResponseHead }
  | { readonly kind: 'head'; readonly head: ResponseHead; readonly framing: BodyFraming }
  /** Body bytes; a view into the pushed chunk, valid until the caller lets go of that chunk. */
  | { readonly kind: 'body'; readonly bytes: Uint8Array }
  | { readonly kind: 'complete' };

export interface ParseProgress {
  readonly bodyBytes: number;
  /** Known when the response carries a Content-Length. */
  readonly totalBytes: number | undefined;
}

export interface ResponseParserOptions {
  /** A response to HEAD never has a body (RFC 9110 §9.3.2). */
  readonly method?: HttpMethod;
  /** Bound on the status line plus header section (and on the trailer section). */
  readonly maxHeadBytes?: number;
}

type ParserState =
  | 'status'
  | 'headers'
  | 'body-length'
  | 'body-close'
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-data-end'
  | 'trailers'
  | 'complete'
  | 'failed';

const statusLinePattern = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/;
const chunkSizePattern = /^([0-9A-Fa-f]+)[ \t]*(?:;.*)?$/;
/** 13 hex digits stay below 2^53, so sizes remain exact numbers. */
const maxChunkSizeDigits = 13;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Incremental HTTP/1.1 response parser. `push` every chunk as it arrives,
 * `end` when the connection closes; both return what became known and throw
 * an `HttpParseError` when the response cannot be valid.
 */
export class HttpResponseParser {
  private state: ParserState = 'status';
  private readonly method: HttpMethod;
  private readonly maxHeadBytes: number;
  /** Bytes of the line being read, split as they arrived. */
  private lineParts: Uint8Array[] = [];
  private lineLength = 0;
  /** Bytes of the current head (or trailer) section read so far, for the size bound. */
  private sectionBytes = 0;
  private bytesSeen = 0;
  private remaining = 0;
  private bodyBytes = 0;
  private totalBytes: number | undefined = undefined;
  private statusLine: { httpVersion: string; status: number; reason: string } | undefined;
  private headers = new HttpHeaders();
  private rawLines: string[] = [];
  private finalHead: ResponseHead | undefined;
  private failure: HttpParseError | undefined;
  readonly trailers = new HttpHeaders();

  constructor(options: ResponseParserOptions = {}) {
    this.method = options.method ?? 'GET';
    this.maxHeadBytes = options.maxHeadBytes ?? 64 * 1024;
  }

  get isComplete(): boolean {
    return this.state === 'complete';
  }

  /** The final (non-1xx) response head, once parsed. */
  get head(): ResponseHead | undefined {
    return this.finalHead;
  }

  get progress(): ParseProgress {
    return { bodyBytes: this.bodyBytes, totalBytes: this.totalBytes };
  }

  push(chunk: Uint8Array): HttpParseEvent[] {
    if (this.failure !== undefined) throw this.failure;
    const events: HttpParseEvent[] = [];
    this.bytesSeen += chunk.length;
    let offset = 0;
    try {
      while (offset < chunk.length && this.state !== 'complete') {
        switch (this.state) {
          case 'body-length':
          case 'chunk-data': {
            const take = Math.min(this.remaining, chunk.length - offset);
            this.emitBody(events, chunk.subarray(offset, offset + take));
            offset += take;
            this.remaining -= take;
            if (this.remaining === 0) {
              if (this.state === 'body-length') this.finish(events);
              else this.state = 'chunk-data-end';
            }
            break;
          }
          case 'body-close':
            this.emitBody(events, chunk.subarray(offset));
            offset = chunk.length;
            break;
          default: {
            const line = this.takeLine(chunk, offset);
            offset = line.next;
            if (line.text !== undefined) this.onLine(line.text, events);
          }
        }
      }
    } catch (error) {
      if (error instanceof HttpParseError) this.fail(error);
      throw error;
    }
    // Bytes after a complete response are ignored: with `Connection: close` there is no next response.
    return events;
  }

  /** The connection was closed by the peer: no more bytes will come. */
  end(): HttpParseEvent[] {
    if (this.failure !== undefined) throw this.failure;
    switch (this.state) {
      case 'complete':
        return [];
      case 'body-close': {
        const events: HttpParseEvent[] = [];
        this.finish(events);
        return events;
      }
      case 'status':
        if (this.bytesSeen === 0) {
          throw this.fail(new HttpParseError('empty-reply', 'the server closed the connection without replying'));
        }
        break;
      default:
        break;
    }
    const expected =
      this.state === 'body-length' && this.totalBytes !== undefined
        ? `${this.bodyBytes} of ${this.totalBytes} body bytes`
        : this.finalHead === undefined
          ? 'an incomplete response head'
          : `${this.bodyBytes} body bytes and an unfinished chunked body`;
    throw this.fail(new HttpParseError('truncated', `connection closed after ${expected}`));
  }

  private fail(error: HttpParseError): HttpParseError {
    this.state = 'failed';
    this.failure = error;
    return error;
  }

  private emitBody(events: HttpParseEvent[], bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.bodyBytes += bytes.length;
    events.push({ kind: 'body', bytes });
  }

  private finish(events: HttpParseEvent[]): void {
    this.state = 'complete';
    events.push({ kind: 'complete' });
  }

  /** Reads up to and including the next LF; returns the line without CR LF once whole. */
  private takeLine(chunk: Uint8Array, offset: number): { text?: string; next: number } {
    const lf = chunk.indexOf(LF, offset);
    const end = lf === -1 ? chunk.length : lf;
    const piece = chunk.subarray(offset, end);
    this.lineLength += piece.length;
    this.sectionBytes += piece.length + (lf === -1 ? 0 : 1);
    this.checkLineBound();
    // A copy: the chunk may be a Buffer (whose slice is a view), and its memory may be reused after push().
    if (piece.length > 0) this.lineParts.push(new Uint8Array(piece));
    if (lf === -1) return { next: chunk.length };
    const bytes = this.lineParts.length === 1 ? this.lineParts[0]! : concatBytes(this.lineParts, this.lineLength);
    this.lineParts = [];
    this.lineLength = 0;
    // A bare LF ends a line too (RFC 9112 §2.2 allows recipients to accept it).
    const text = decodeLatin1(bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.subarray(0, -1) : bytes);
    return { text, next: lf + 1 };
  }

  private checkLineBound(): void {
    if (this.sectionBytes <= this.maxHeadBytes) return;
    if (this.state === 'chunk-size' || this.state === 'chunk-data-end') {
      throw new HttpParseError('bad-chunk-size', 'chunk size line too long');
    }
    throw new HttpParseError('header-too-large', `response head larger than ${this.maxHeadBytes} bytes`);
  }

  private onLine(text: string, events: HttpParseEvent[]): void {
    switch (this.state) {
      case 'status':
        this.onStatusLine(text);
        return;
      case 'headers':
        if (text === '') this.onHeadComplete(events);
        else this.onHeaderLine(text, this.headers);
        return;
      case 'chunk-size':
        this.onChunkSizeLine(text);
        return;
      case 'chunk-data-end':
        if (text !== '') throw new HttpParseError('bad-chunk-data', 'chunk data longer than its size');
        this.sectionBytes = 0;
        this.state = 'chunk-size';
        return;
      case 'trailers':
        if (text === '') this.finish(events);
        else this.onTrailerLine(text);
        return;
      default:
        return;
    }
  }

  private onStatusLine(text: string): void {
    // Empty lines before the status line are skipped, as RFC 9112 §2.2 suggests for the start line.
    if (text === '') return;
    const match = statusLinePattern.exec(text);
    if (match === null || match[1] !== '1') {
      throw new HttpParseError('malformed-status-line', `malformed status line: ${JSON.stringify(text.slice(0, 80))}`);
    }
    this.statusLine = { httpVersion: `${match[1]}.${match[2]}`, status: Number(match[3]), reason: match[4] ?? '' };
    this.rawLines = [text];
    this.headers = new HttpHeaders();
    this.state = 'headers';
  }

  private onHeaderLine(text: string, into: HttpHeaders): void {
    this.rawLines.push(text);
    if (text.startsWith(' ') || text.startsWith('\t')) {
      if (!into.continueLast(trimWhitespace(text))) {
        throw new HttpParseError('malformed-header', 'continuation line before any header field');
      }
      return;
    }
    const colon = text.indexOf(':');
    const name = colon === -1 ? '' : text.slice(0, colon);
    if (!tokenPattern.test(name)) {
      throw new HttpParseError('malformed-header', `malformed header line: ${JSON.stringify(text.slice(0, 80))}`);
    }
    into.append(name, trimWhitespace(text.slice(colon + 1)));
  }

  private onTrailerLine(text: string): void {
    // Trailers are informative only here; a malformed one is dropped rather than failing a complete body.
    const colon = text.indexOf(':');
    const name = colon === -1 ? '' : text.slice(0, colon);
    if (tokenPattern.test(name)) this.trailers.append(name, trimWhitespace(text.slice(colon + 1)));
  }

  private onHeadComplete(events: HttpParseEvent[]): void {
    const statusLine = this.statusLine!;
    const head: ResponseHead = { ...statusLine, headers: this.headers, rawLines: this.rawLines };
    this.sectionBytes = 0;
    if (statusLine.status >= 100 && statusLine.status < 200) {
      events.push({ kind: 'interim', head });
      this.state = 'status';
      return;
    }
    this.finalHead = head;
    const framing = this.framingOf(head);
    events.push({ kind: 'head', head, framing: framing.kind });
    switch (framing.kind) {
      case 'none':
        this.totalBytes = 0;
        this.finish(events);
        return;
      case 'content-length':
        this.totalBytes = framing.length;
        this.remaining = framing.length;
        if (framing.length === 0) this.finish(events);
        else this.state = 'body-length';
        return;
      case 'chunked':
        this.state = 'chunk-size';
        return;
      case 'until-close':
        this.state = 'body-close';
        return;
    }
  }

  /** RFC 9112 §6.3, in its order of precedence. */
  private framingOf(head: ResponseHead): { kind: 'none' | 'chunked' | 'until-close' } | { kind: 'content-length'; length: number } {
    if (this.method === 'HEAD' || head.status === 204 || head.status === 304) return { kind: 'none' };
    const transferCoding = head.headers.get('transfer-encoding');
    if (transferCoding !== undefined) {
      const codings = transferCoding.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '');
      return codings[codings.length - 1] === 'chunked' ? { kind: 'chunked' } : { kind: 'until-close' };
    }
    const lengths = head.headers.getAll('content-length');
    if (lengths.length > 0) {
      // Duplicates, or a list, are acceptable only when every value is the same (RFC 9110 §8.6).
      const values = new Set(lengths.flatMap((v) => v.split(',')).map((v) => v.trim()));
      const [only] = values;
      if (values.size !== 1 || only === undefined || !/^\d{1,15}$/.test(only)) {
        throw new HttpParseError('bad-content-length', `invalid Content-Length: ${JSON.stringify(lengths.join(', '))}`);
      }
      return { kind: 'content-length', length: Number(only) };
    }
    return { kind: 'until-close' };
  }

  private onChunkSizeLine(text: string): void {
    const match = chunkSizePattern.exec(text);
    const digits = match?.[1];
    if (digits === undefined || digits.length > maxChunkSizeDigits) {
      throw new HttpParseError('bad-chunk-size', `bad chunk size line: ${JSON.stringify(text.slice(0, 80))}`);
    }
    const size = parseInt(digits, 16);
    this.sectionBytes = 0;
    if (size === 0) {
      this.state = 'trailers';
      return;
    }
    this.remaining = size;
    this.state = 'chunk-data';
  }
}

const trimWhitespace = (text: string): string => text.replace(/^[ \t]+|[ \t]+$/g, '');

const concatBytes = (parts: readonly Uint8Array[], length: number): Uint8Array => {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

/** Statuses whose Location is a redirect to follow with `-L` (RFC 9110 §15.4). */
export const isRedirectStatus = (status: number): boolean => [301, 302, 303, 307, 308].includes(status);
