/**
 * Structured JSON logs, one object per line, so Workers Logs can index every field.
 * Never log secrets, tokens, SQL or request bodies.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export type Logger = {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
};

/**
 * A logger bound to fields every line repeats (the request or run id). A class, so that creating one per
 * request allocates one object rather than a closure per level.
 */
class JsonLogger implements Logger {
  constructor(private readonly base: LogFields) {}

  info(msg: string, fields?: LogFields): void {
    console.log(this.line('info', msg, fields));
  }

  warn(msg: string, fields?: LogFields): void {
    console.warn(this.line('warn', msg, fields));
  }

  error(msg: string, fields?: LogFields): void {
    console.error(this.line('error', msg, fields));
  }

  private line(level: 'info' | 'warn' | 'error', msg: string, fields: LogFields | undefined): string {
    return JSON.stringify({ level, msg, time: new Date().toISOString(), ...this.base, ...fields });
  }
}

export function createLogger(base: LogFields): Logger {
  return new JsonLogger(base);
}

/**
 * What may be logged about an unexpected error: its type, the innermost cause's first line (the driver's own
 * words, e.g. "D1_ERROR: no such table"), and stack frames. Query builders wrap errors in messages that quote
 * the SQL and its bound values, which can hold personal data, so wrapping messages are never logged.
 */
export function describeError(err: unknown): LogFields {
  if (!(err instanceof Error)) return { error: typeof err };
  let root: Error = err;
  while (root.cause instanceof Error) root = root.cause;
  const reason = root.message.split('\n')[0]?.slice(0, 200);
  return {
    error: err.name,
    reason: reason?.startsWith('Failed query') ? undefined : reason,
    frames: err.stack
      ?.split('\n')
      .filter((line) => line.trim().startsWith('at '))
      .slice(0, 4)
      .map((line) => line.trim())
      .join(' | '),
  };
}
