/**
 * The server's structured log: one event per line on stderr, as JSON for
 * machines or as `time LEVEL event key=value ...` for people. Lines written
 * in the same tick go out in one write, so request logs stay cheap under load.
 */

/** How log lines look. */
export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'info' | 'warn' | 'error';

/** Where log lines go. */
export interface LogSink {
  write(text: string): unknown;
}

/** Fields of one event; values are written as JSON. */
export type LogFields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

/** A structured logger (see the module comment). */
export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** Writes out what is buffered now. */
  flush(): void;
}

function prettyValue(value: LogFields[string]): string {
  if (typeof value === 'string') return /^[\w.:/@+-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

/**
 * A logger writing to `sink`.
 * @param format 'json' (one object per line with time, level and event first) or 'pretty'.
 */
export function createLogger(sink: LogSink, format: LogFormat): Logger {
  let pending: string[] = [];
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    sink.write(text);
  };

  const log = (level: LogLevel, event: string, fields: LogFields = {}): void => {
    const time = new Date().toISOString();
    let line: string;
    if (format === 'json') {
      line = JSON.stringify({ time, level, event, ...fields }) + '\n';
    } else {
      const parts = Object.entries(fields)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${prettyValue(value)}`);
      line = `${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${event}${parts.length > 0 ? ' ' + parts.join(' ') : ''}\n`;
    }
    pending.push(line);
    if (level !== 'info') {
      flush();
      return;
    }
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  return {
    log,
    info: (event, fields) => log('info', event, fields),
    warn: (event, fields) => log('warn', event, fields),
    error: (event, fields) => log('error', event, fields),
    flush,
  };
}
