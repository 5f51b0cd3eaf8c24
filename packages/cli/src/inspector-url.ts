/**
 * The `--inspect` option's URL, apart from the inspector itself: the CLI parses
 * it on every run, and loads the WebSocket client (`inspector.ts`) only when
 * the option is given.
 */
import { InvalidArgumentError } from 'commander';

/** `npx @statelyai/inspect`-style servers and `createInspectorServer()` listen here by default. */
export const DEFAULT_INSPECTOR_URL = 'ws://localhost:8080';

/** commander parser for `--inspect [url]`: only ws:// and wss:// URLs, so a page URL is never taken for one. */
export const parseInspectorUrl = (text: string): string => {
  let protocol: string | undefined;
  try {
    protocol = new URL(text).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'ws:' && protocol !== 'wss:') {
    throw new InvalidArgumentError(
      'expected a ws:// or wss:// URL (put --inspect after the page URL, or write --inspect=ws://HOST:PORT).',
    );
  }
  return text;
};

