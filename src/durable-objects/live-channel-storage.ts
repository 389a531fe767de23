/**
 * A LiveChannel object's own SQLite tables and every statement on them (one object = one topic). Synchronous,
 * like the SQL API, so a publish or a subscription reads and writes with nothing interleaved.
 *
 * - `channel`: the single row: the topic, the latest seq handed out, and when the last subscriber left (a
 *   channel nobody has followed for longer than the retention window stops keeping events: nobody could ask
 *   for them).
 * - `events`: the last RETAINED_EVENTS events, none older than RETENTION_MS, by seq: what a reconnecting
 *   client is replayed.
 * - `retained`: the latest event per state key (a variant's stock, its prices): what a new subscriber is sent
 *   first. At most MAX_RETAINED_KEYS per topic, the least recently changed going first.
 */
import type { Topic } from '../lib/live-messages';

/** Events kept for replay: at most this many... */
export const RETAINED_EVENTS = 200;
/** ...and none older than this. */
export const RETENTION_MS = 15 * 60_000;
export const MAX_RETAINED_KEYS = 500;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS channel (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  topic TEXT NOT NULL,
  seq INTEGER NOT NULL,
  last_subscriber_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS retained (
  key TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS retained_seq ON retained (seq);
`;

export type ChannelRow = { topic: Topic; seq: number; lastSubscriberAt: number };

type Row = Record<string, SqlStorageValue>;

export class ChannelStorage {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  channel(): ChannelRow | null {
    const row = this.sql.exec<Row>('SELECT topic, seq, last_subscriber_at FROM channel').toArray()[0];
    return row
      ? {
          topic: String(row.topic) as Topic,
          seq: Number(row.seq),
          lastSubscriberAt: Number(row.last_subscriber_at),
        }
      : null;
  }

  saveChannel(row: ChannelRow): void {
    this.sql.exec(
      `INSERT INTO channel (id, topic, seq, last_subscriber_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, last_subscriber_at = excluded.last_subscriber_at`,
      row.topic,
      row.seq,
      row.lastSubscriberAt,
    );
  }

  /** Keeps `body` for replay and drops what falls out of the window. */
  appendEvent(seq: number, at: number, body: string): void {
    this.sql.exec('INSERT INTO events (seq, at, body) VALUES (?, ?, ?)', seq, at, body);
    this.sql.exec('DELETE FROM events WHERE seq <= ? OR at < ?', seq - RETAINED_EVENTS, at - RETENTION_MS);
  }

  dropEvents(): void {
    this.sql.exec('DELETE FROM events');
  }

  /**
   * The events after `afterSeq` up to `head`, oldest first, if every one of them is still kept; null if any is
   * gone (pruned, or published while nobody was following).
   */
  eventsAfter(afterSeq: number, head: number, now: number): string[] | null {
    const rows = this.sql
      .exec<Row>(
        'SELECT body FROM events WHERE seq > ? AND at >= ? ORDER BY seq',
        afterSeq,
        now - RETENTION_MS,
      )
      .toArray();
    return rows.length === head - afterSeq ? rows.map((row) => String(row.body)) : null;
  }

  retain(key: string, seq: number, body: string): void {
    this.sql.exec(
      `INSERT INTO retained (key, seq, body) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, body = excluded.body`,
      key,
      seq,
      body,
    );
    this.sql.exec(
      'DELETE FROM retained WHERE seq <= (SELECT seq FROM retained ORDER BY seq DESC LIMIT 1 OFFSET ?)',
      MAX_RETAINED_KEYS,
    );
  }

  /** The retained events, oldest first (so a later state of the same thing is never followed by an older one). */
  retainedEvents(): string[] {
    return this.sql
      .exec<Row>('SELECT body FROM retained ORDER BY seq')
      .toArray()
      .map((row) => String(row.body));
  }
}
