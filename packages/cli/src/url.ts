import { promises as dns } from 'node:dns';
import { isIPv4 } from 'node:net';
import { CliFailure, ExitCode } from './errors.js';
import type { HttpRequestTarget } from './http.js';

/** A URL we can fetch: `http:`, a host and a port, and the request target. */
export interface FetchTarget extends HttpRequestTarget {
  /** Normalised by the WHATWG parser (IPv4 forms such as `0x7f.1` become dotted quads). */
  readonly url: URL;
  /** The host is already an IPv4 address: no lookup needed. */
  readonly hostIsAddress: boolean;
  /** `Authorization` value when the URL carries user:password (RFC 7617). */
  readonly authorization?: string;
}

const schemePattern = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
/** Something before `://` that is not a scheme (RFC 3986 §3.1), e.g. `ht!tp://`. */
const brokenSchemePattern = /^[^/?#]*:\/\//;
/**
 * A DNS name as resolvers take it: labels of letters, digits, hyphens and
 * (seen in practice) underscores, at most 63 octets each (RFC 1035 §2.3.1,
 * RFC 2181 §11). WHATWG lets through characters such as `!` or `$` that no
 * resolver will find; we call those malformed instead of "not found".
 */
const dnsNamePattern = /^(?=.{1,253}\.?$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * Parses what the user typed. Like curl, a URL without a scheme is taken as
 * `http://`. Throws a `CliFailure` with exit code 3 (malformed) or 1 (not http).
 */
export const parseFetchUrl = (raw: string): FetchTarget => {
  const input = raw.trim();
  if (input === '') throw new CliFailure(ExitCode.malformedUrl, 'Malformed URL: empty');
  const hasScheme = schemePattern.test(input);
  if (!hasScheme && brokenSchemePattern.test(input)) {
    throw new CliFailure(ExitCode.malformedUrl, `Malformed URL (bad scheme): ${raw}`);
  }
  let url: URL;
  try {
    url = new URL(hasScheme ? input : `http://${input}`);
  } catch {
    throw new CliFailure(ExitCode.malformedUrl, `Malformed URL: ${raw}`);
  }
  if (url.protocol === 'https:') {
    throw new CliFailure(ExitCode.unsupportedProtocol, `Protocol "https" not supported: this stack speaks plain http only`);
  }
  if (url.protocol !== 'http:') {
    throw new CliFailure(ExitCode.unsupportedProtocol, `Protocol "${url.protocol.slice(0, -1)}" not supported: only http is`);
  }
  if (url.hostname === '') throw new CliFailure(ExitCode.malformedUrl, `Malformed URL (no host): ${raw}`);
  if (url.hostname.startsWith('[')) {
    throw new CliFailure(ExitCode.unsupportedProtocol, `IPv6 is not supported by this stack: ${url.hostname}`);
  }
  if (!isIPv4(url.hostname) && !dnsNamePattern.test(url.hostname)) {
    throw new CliFailure(ExitCode.malformedUrl, `Malformed URL (bad host name "${url.hostname}"): ${raw}`);
  }
  const port = url.port === '' ? 80 : Number(url.port);
  if (port === 0) throw new CliFailure(ExitCode.malformedUrl, `Malformed URL (port 0): ${raw}`);
  const credentials =
    url.username === '' && url.password === ''
      ? undefined
      : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`, 'utf8').toString('base64')}`;
  return {
    url,
    host: url.hostname,
    port,
    // The fragment is for the client, never sent (RFC 9110 §4.2.5 via RFC 3986 §3.5).
    path: `${url.pathname === '' ? '/' : url.pathname}${url.search}`,
    hostIsAddress: isIPv4(url.hostname),
    ...(credentials === undefined ? {} : { authorization: credentials }),
  };
};

export type LookupIPv4 = (host: string) => Promise<string>;

/** The system resolver (getaddrinfo), IPv4 only: the stack has no IPv6. */
export const systemLookup: LookupIPv4 = async (host) => (await dns.lookup(host, { family: 4 })).address;

/** The IPv4 address to connect to; a literal is used as is. Exit code 6 when the name does not resolve. */
export const resolveTarget = async (target: FetchTarget, lookup: LookupIPv4 = systemLookup): Promise<string> => {
  if (target.hostIsAddress) return target.host;
  try {
    const address = await lookup(target.host);
    if (!isIPv4(address)) throw new Error(`not an IPv4 address: ${address}`);
    return address;
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
    throw new CliFailure(
      ExitCode.couldNotResolveHost,
      `Could not resolve host: ${target.host}${code === '' ? '' : ` (${code})`}`,
    );
  }
};

/** Resolves a `Location` against the URL it came from; `undefined` when it is not a URL. */
export const resolveLocation = (location: string, base: URL): string | undefined => {
  try {
    return new URL(location, base).href;
  } catch {
    return undefined;
  }
};
