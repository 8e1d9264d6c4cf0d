import type { CacheKey } from "@cachefx/core"
import * as Effect from "effect/Effect"
import type { SqliteDatabase as Database } from "../SqlStore.js"
import type { Backend, Row } from "./backend.js"

/** A row of the read statement. */
interface ReadRow {
  readonly value: string | null
  readonly cached_at: number | null
  readonly expires_at: number | null
  readonly stale_until: number | null
  readonly gone_at: number | null
  readonly k: number | null
  readonly p: number | null
  readonly n: number | null
  readonly stale: number | null
  readonly p_hard: number | null
  readonly p_soft: number | null
  readonly n_hard: number | null
  readonly n_soft: number | null
}

const rowOf = (row: ReadRow): Row => ({
  value: row.value,
  cachedAt: row.cached_at ?? 0,
  expiresAt: row.expires_at,
  staleUntil: row.stale_until,
  goneAt: row.gone_at ?? 0,
  k: row.k ?? 0,
  p: row.p ?? 0,
  n: row.n ?? 0,
  stale: row.stale === 1,
  pHard: row.p_hard ?? 0,
  pSoft: row.p_soft ?? 0,
  nHard: row.n_hard ?? 0,
  nSoft: row.n_soft ?? 0
})

/**
 * Creates the store's tables when they do not exist, in one transaction. SQLite has no
 * unlogged tables nor sequences: the sequence is a one-row table.
 *
 * @internal
 */
export const setup = (database: Database, table: string): Effect.Effect<void, unknown> =>
  Effect.try(() =>
    database.transaction(() => {
      database.exec(`
        CREATE TABLE IF NOT EXISTS "${table}" (
          key TEXT PRIMARY KEY,
          value TEXT,
          cached_at INTEGER NOT NULL,
          expires_at INTEGER,
          stale_until INTEGER,
          gone_at INTEGER NOT NULL,
          k INTEGER NOT NULL,
          p INTEGER NOT NULL,
          n INTEGER NOT NULL,
          stale INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS "${table}_gone_at" ON "${table}" (gone_at);
        CREATE TABLE IF NOT EXISTS "${table}_stamps" (
          kind TEXT NOT NULL,
          scope TEXT NOT NULL,
          hard INTEGER NOT NULL,
          soft INTEGER NOT NULL,
          at INTEGER NOT NULL,
          PRIMARY KEY (kind, scope)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS "${table}_stamps_at" ON "${table}_stamps" (at);
        CREATE TABLE IF NOT EXISTS "${table}_leases" (
          key TEXT PRIMARY KEY,
          token TEXT NOT NULL,
          until INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS "${table}_seq" (id INTEGER PRIMARY KEY CHECK (id = 0), value INTEGER NOT NULL);
        INSERT OR IGNORE INTO "${table}_seq" (id, value) VALUES (0, 0);`)
    }).immediate()
  )

/**
 * The backend over a database. better-sqlite3 runs each statement synchronously, in
 * this process: a statement is one call, never a round trip, and cannot be interrupted
 * (the store's timeout does not bound it).
 *
 * @internal
 */
export const backend = (database: Database, table: string): Backend => {
  const entries = `"${table}"`
  const stamps = `"${table}_stamps"`
  const leases = `"${table}_leases"`
  const read = database.prepare(`
    SELECT e.value, e.cached_at, e.expires_at, e.stale_until, e.gone_at, e.k, e.p, e.n, e.stale,
           p.hard AS p_hard, p.soft AS p_soft, ns.hard AS n_hard, ns.soft AS n_soft
    FROM (SELECT ? AS key, ? AS partition, ? AS namespace) q
    LEFT JOIN ${entries} e ON e.key = q.key
    LEFT JOIN ${stamps} p ON p.kind = 'p' AND p.scope = q.partition
    LEFT JOIN ${stamps} ns ON ns.kind = 'n' AND ns.scope = q.namespace`)
  const fill = database.prepare(`
    INSERT INTO ${entries} AS t (key, value, cached_at, expires_at, stale_until, gone_at, k, p, n, stale)
    SELECT @key, @value, @cachedAt, @expiresAt, @staleUntil, @goneAt, @k, @p, @n, 0
    WHERE coalesce((SELECT soft FROM ${stamps} WHERE kind = 'p' AND scope = @partition), 0) = @p
      AND coalesce((SELECT soft FROM ${stamps} WHERE kind = 'n' AND scope = @namespace), 0) = @n
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, cached_at = excluded.cached_at,
      expires_at = excluded.expires_at, stale_until = excluded.stale_until, gone_at = excluded.gone_at,
      p = excluded.p, n = excluded.n, stale = 0
    WHERE t.k = excluded.k`)
  const next = database.prepare(`UPDATE "${table}_seq" SET value = value + 1 WHERE id = 0 RETURNING value`)
  const keyStatement = (soft: boolean) =>
    database.prepare(`
      INSERT INTO ${entries} AS t (key, value, cached_at, expires_at, stale_until, gone_at, k, p, n, stale)
      VALUES (@key, NULL, 0, NULL, NULL, @goneAt, @stamp, 0, 0, 0)
      ON CONFLICT (key) DO UPDATE SET k = excluded.k, ${
      soft ? "stale = 1, gone_at = max(t.gone_at, excluded.gone_at)" : "value = NULL, stale = 0, gone_at = excluded.gone_at"
    }`)
  const hardKey = keyStatement(false)
  const softKey = keyStatement(true)
  const scope = database.prepare(`
    INSERT INTO ${stamps} AS s (kind, scope, hard, soft, at) VALUES (@kind, @scope, @hard, @stamp, @at)
    ON CONFLICT (kind, scope) DO UPDATE SET hard = max(s.hard, excluded.hard), soft = max(s.soft, excluded.soft),
      at = excluded.at`)
  const invalidate = database.transaction((target: CacheKey.Target, soft: boolean, now: number, tombstoneUntil: number) => {
    const stamp = (next.get() as { readonly value: number }).value
    if (target._tag === "Key") {
      ;(soft ? softKey : hardKey).run({ key: target.key, goneAt: tombstoneUntil, stamp })
    } else {
      scope.run({
        kind: target._tag === "Partition" ? "p" : "n",
        scope: target._tag === "Partition" ? target.partition : target.namespace,
        hard: soft ? 0 : stamp,
        stamp,
        at: now
      })
    }
  })
  const acquire = database.prepare(`
    INSERT INTO ${leases} AS l (key, token, until) VALUES (?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET token = excluded.token, until = excluded.until WHERE l.until <= ?`)
  const release = database.prepare(`DELETE FROM ${leases} WHERE key = ? AND token = ?`)
  const held = database.prepare(`SELECT 1 FROM ${leases} WHERE key = ? AND until > ?`)
  /** The fill, and the lease its read took given back, in one transaction. */
  const filling = database.transaction((row: Record<string, unknown>, token: string | undefined) => {
    const stored = fill.run(row).changes === 1
    if (token !== undefined) {
      release.run(row["key"], token)
    }
    return stored
  })
  const sweepEntries = database.prepare(
    `DELETE FROM ${entries} WHERE key IN (SELECT key FROM ${entries} WHERE gone_at <= ? LIMIT ?)`
  )
  const sweepLeases = database.prepare(`DELETE FROM ${leases} WHERE key IN (SELECT key FROM ${leases} WHERE until <= ? LIMIT ?)`)
  const sweepStamps = database.prepare(
    `DELETE FROM ${stamps} WHERE kind = 'p' AND scope IN (SELECT scope FROM ${stamps} WHERE kind = 'p' AND at < ? LIMIT ?)`
  )
  const sweep = database.transaction((now: number, stampsBefore: number, batch: number) =>
    Math.max(
      sweepEntries.run(now, batch).changes,
      sweepLeases.run(now, batch).changes,
      sweepStamps.run(stampsBefore, batch).changes
    )
  )
  return {
    name: "sqlite",
    read: (keys) => Effect.try(() => keys.map((key) => rowOf(read.get(key.key, key.partition, key.namespace) as ReadRow))),
    fill: (row, token) =>
      Effect.try(() =>
        filling.immediate({
          key: row.key.key,
          value: row.value,
          cachedAt: row.cachedAt,
          expiresAt: row.expiresAt,
          staleUntil: row.staleUntil,
          goneAt: row.goneAt,
          k: row.k,
          p: row.p,
          n: row.n,
          partition: row.key.partition,
          namespace: row.key.namespace
        }, token)
      ),
    invalidate: (target, soft, now, tombstoneUntil) =>
      Effect.try(() => invalidate.immediate(target, soft, now, tombstoneUntil)),
    acquire: (key, token, until, now) => Effect.try(() => acquire.run(key, token, until, now).changes === 1),
    release: (key, token) => Effect.try(() => void release.run(key, token)),
    held: (key, now) => Effect.try(() => held.get(key, now) !== undefined),
    sweep: (now, stampsBefore, batch) => Effect.try(() => sweep.immediate(now, stampsBefore, batch))
  }
}
