import type { CacheKey } from "@cachefx/core"
import * as Effect from "effect/Effect"
import type { PgClient, PgPool } from "../SqlStore.js"
import { type Backend, type Fill, type Row, TimedOut } from "./backend.js"

/**
 * Runs one statement on a client of the pool, for `timeout` ms at most (none: no bound).
 * Past it, or interrupted, the call ends at once and the client is destroyed, not
 * returned: a connection that stopped answering (a black-holed network) is never handed
 * to another statement, and the pool opens a new one. The bound is a timer of the call's
 * own, so it holds in an uninterruptible region too.
 */
/** A statement as node-postgres takes it: named ones are prepared once per connection. */
interface Query {
  readonly name?: string
  readonly text: string
  readonly values?: Array<unknown>
}

type Result = Awaited<ReturnType<PgClient["query"]>>

const run = (pool: PgPool, query: Query, timeout: number | undefined): Effect.Effect<Result, unknown> =>
  Effect.async<Result, unknown>((resume) => {
    let settled = false
    let client: PgClient | undefined
    /** Ends the call once: the client released as `release` says, then `outcome` to the caller (none: it left). */
    const settle = (outcome: Effect.Effect<Result, unknown> | undefined, release: (client: PgClient) => void) => {
      if (!settled) {
        settled = true
        clearTimeout(timer)
        if (client !== undefined) {
          release(client)
        }
        if (outcome !== undefined) {
          resume(outcome)
        }
      }
    }
    const destroy = (stuck: PgClient) => stuck.release(true)
    const timer = timeout === undefined ? undefined : setTimeout(() => settle(Effect.fail(new TimedOut()), destroy), timeout)
    pool.connect().then(
      (connected) => {
        if (settled) {
          // the caller left while the pool was connecting: the connection is sound, give it back
          connected.release()
          return
        }
        client = connected
        connected.query(query).then(
          (result) => settle(Effect.succeed(result), (done) => done.release()),
          (error: unknown) => settle(Effect.fail(error), (failed) => failed.release(error instanceof Error ? error : true))
        )
      },
      (error: unknown) => settle(Effect.fail(error), () => {})
    )
    return Effect.sync(() => settle(undefined, destroy))
  })

const numberOf = (value: unknown): number => value === null || value === undefined ? 0 : Number(value)
const timeOf = (value: unknown): number | null => value === null || value === undefined ? null : Number(value)

/** A row of the read statement (bigints come as strings). */
interface ReadRow {
  readonly value: string | null
  readonly cached_at: string | null
  readonly expires_at: string | null
  readonly stale_until: string | null
  readonly gone_at: string | null
  readonly k: string | null
  readonly p: string | null
  readonly n: string | null
  readonly stale: boolean | null
  readonly p_hard: string | null
  readonly p_soft: string | null
  readonly n_hard: string | null
  readonly n_soft: string | null
}

const rowOf = (row: ReadRow): Row => ({
  value: row.value,
  cachedAt: numberOf(row.cached_at),
  expiresAt: timeOf(row.expires_at),
  staleUntil: timeOf(row.stale_until),
  goneAt: numberOf(row.gone_at),
  k: numberOf(row.k),
  p: numberOf(row.p),
  n: numberOf(row.n),
  stale: row.stale === true,
  pHard: numberOf(row.p_hard),
  pSoft: numberOf(row.p_soft),
  nHard: numberOf(row.n_hard),
  nSoft: numberOf(row.n_soft)
})

/** The names of the store's objects in `schema`: the entries table, its stamps, its leases, its sequence. */
export const names = (schema: string, table: string) => ({
  entries: `"${schema}"."${table}"`,
  stamps: `"${schema}"."${table}_stamps"`,
  leases: `"${schema}"."${table}_leases"`,
  sequence: `"${schema}"."${table}_seq"`
})

/**
 * The statements that create the store's objects when they do not exist: one query of
 * several statements, which PostgreSQL runs as one transaction, under an advisory lock
 * of it (instances that start together do not race on the catalog).
 *
 * @internal
 */
export const setup = (pool: PgPool, schema: string, table: string, timeout: number): Effect.Effect<void, unknown> => {
  const { entries, leases, sequence, stamps } = names(schema, table)
  const text = `
    SELECT pg_advisory_xact_lock(hashtext('cachefx:' || '${schema}.${table}'));
    CREATE UNLOGGED TABLE IF NOT EXISTS ${entries} (
      key text PRIMARY KEY,
      value text,
      cached_at bigint NOT NULL,
      expires_at bigint,
      stale_until bigint,
      gone_at bigint NOT NULL,
      k bigint NOT NULL,
      p bigint NOT NULL,
      n bigint NOT NULL,
      stale boolean NOT NULL
    );
    CREATE INDEX IF NOT EXISTS "${table}_gone_at" ON ${entries} (gone_at);
    CREATE UNLOGGED TABLE IF NOT EXISTS ${stamps} (
      kind text NOT NULL,
      scope text NOT NULL,
      hard bigint NOT NULL,
      soft bigint NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (kind, scope)
    );
    CREATE INDEX IF NOT EXISTS "${table}_stamps_at" ON ${stamps} (at);
    CREATE UNLOGGED TABLE IF NOT EXISTS ${leases} (
      key text PRIMARY KEY,
      token text NOT NULL,
      until bigint NOT NULL
    );
    DO $$ BEGIN
      -- unlogged (PostgreSQL 15+) as the tables are: a crash resets the numbers with the stamps they numbered
      IF current_setting('server_version_num')::int >= 150000 THEN
        CREATE UNLOGGED SEQUENCE IF NOT EXISTS ${sequence};
      ELSE
        CREATE SEQUENCE IF NOT EXISTS ${sequence};
      END IF;
    END $$;`
  return Effect.asVoid(run(pool, { text }, timeout))
}

/**
 * The backend over a pool, each statement bounded by `timeout` ms (see `run`). Every
 * statement is prepared once per connection (a named query). Reads join the entries
 * with the stamps of their partitions and namespaces.
 *
 * @internal
 */
export const backend = (pool: PgPool, schema: string, table: string, timeout: number | undefined): Backend => {
  const { entries, leases, sequence, stamps } = names(schema, table)
  /** A name for a prepared statement, unique to the table (a pool may serve several stores). */
  const prepared = (statement: string) => `cachefx_${statement}_${schema}_${table}`.slice(0, 63)
  const select = (source: string) => `
    SELECT e.value, e.cached_at, e.expires_at, e.stale_until, e.gone_at, e.k, e.p, e.n, e.stale,
           p.hard AS p_hard, p.soft AS p_soft, ns.hard AS n_hard, ns.soft AS n_soft
    FROM ${source}
    LEFT JOIN ${entries} e ON e.key = q.key
    LEFT JOIN ${stamps} p ON p.kind = 'p' AND p.scope = q.partition
    LEFT JOIN ${stamps} ns ON ns.kind = 'n' AND ns.scope = q.namespace`
  const readOne = select(`(SELECT $1::text AS key, $2::text AS partition, $3::text AS namespace) q`)
  const readMany = select(
    `unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS q(key, partition, namespace, i)`
  ) + " ORDER BY q.i"
  // the read, and the lease when the row serves no entry (the test of `sqlStore.ts`'s lookupOf, in SQL)
  const readLeasing = `
    WITH r AS (${readOne}),
    serving AS (
      SELECT r.value IS NOT NULL AND r.gone_at > $6::bigint AND (r.stale_until IS NULL OR r.stale_until > $6::bigint)
        AND (r.p = coalesce(r.p_soft, 0) OR (r.p >= coalesce(r.p_hard, 0) AND r.p < coalesce(r.p_soft, 0)))
        AND (r.n = coalesce(r.n_soft, 0) OR (r.n >= coalesce(r.n_hard, 0) AND r.n < coalesce(r.n_soft, 0))) AS serves
      FROM r
    ),
    leased AS (
      INSERT INTO ${leases} AS l (key, token, until)
      SELECT $1::text, $4::text, $5::bigint FROM serving WHERE NOT serving.serves
      ON CONFLICT (key) DO UPDATE SET token = excluded.token, until = excluded.until WHERE l.until <= $6::bigint
      RETURNING 1
    )
    SELECT r.*, NOT serving.serves AS asked, EXISTS (SELECT 1 FROM leased) AS taken FROM r, serving`
  const fillBody = `
    INSERT INTO ${entries} AS t (key, value, cached_at, expires_at, stale_until, gone_at, k, p, n, stale)
    SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::bigint, $9::bigint, false
    WHERE coalesce((SELECT soft FROM ${stamps} WHERE kind = 'p' AND scope = $10::text), 0) = $8::bigint
      AND coalesce((SELECT soft FROM ${stamps} WHERE kind = 'n' AND scope = $11::text), 0) = $9::bigint
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, cached_at = excluded.cached_at,
      expires_at = excluded.expires_at, stale_until = excluded.stale_until, gone_at = excluded.gone_at,
      p = excluded.p, n = excluded.n, stale = false
    WHERE t.k = excluded.k`
  const fill = fillBody
  // the fill, and the lease its read took given back
  const fillReleasing = `WITH released AS (DELETE FROM ${leases} WHERE key = $1::text AND token = $12::text) ${fillBody}`
  // a key: its row gets a new stamp; hard, the entry goes (a tombstone until $2); soft, it stays, stale
  const invalidateKey = (soft: boolean) => `
    INSERT INTO ${entries} AS t (key, value, cached_at, expires_at, stale_until, gone_at, k, p, n, stale)
    VALUES ($1::text, NULL, 0, NULL, NULL, $2::bigint, nextval('${sequence}'), 0, 0, false)
    ON CONFLICT (key) DO UPDATE SET k = excluded.k, ${
    soft
      ? "stale = true, gone_at = greatest(t.gone_at, excluded.gone_at)"
      : "value = NULL, stale = false, gone_at = excluded.gone_at"
  }`
  // a partition or a namespace: one row of stamps, whatever it holds
  const invalidateScope = `
    WITH next AS (SELECT nextval('${sequence}') AS stamp)
    INSERT INTO ${stamps} AS s (kind, scope, hard, soft, at)
    SELECT $1::text, $2::text, CASE WHEN $3::boolean THEN 0 ELSE next.stamp END, next.stamp, $4::bigint FROM next
    ON CONFLICT (kind, scope) DO UPDATE SET hard = greatest(s.hard, excluded.hard), soft = greatest(s.soft, excluded.soft),
      at = excluded.at`
  const sweep = `
    WITH entries AS (
      DELETE FROM ${entries} WHERE key IN (SELECT key FROM ${entries} WHERE gone_at <= $1::bigint LIMIT $3) RETURNING 1
    ), leases AS (
      DELETE FROM ${leases} WHERE key IN (SELECT key FROM ${leases} WHERE until <= $1::bigint LIMIT $3) RETURNING 1
    ), stamps AS (
      DELETE FROM ${stamps} WHERE kind = 'p' AND scope IN (
        SELECT scope FROM ${stamps} WHERE kind = 'p' AND at < $2::bigint LIMIT $3
      ) RETURNING 1
    )
    SELECT greatest((SELECT count(*) FROM entries), (SELECT count(*) FROM leases), (SELECT count(*) FROM stamps)) AS deleted`
  const exec = (name: string, text: string, values: Array<unknown>) =>
    run(pool, { name: prepared(name), text, values }, timeout)
  return {
    name: "postgres",
    read: (keys: ReadonlyArray<CacheKey.CacheKey>) =>
      Effect.map(
        keys.length === 1
          ? exec("read", readOne, [keys[0]!.key, keys[0]!.partition, keys[0]!.namespace])
          : exec("read_many", readMany, [
            keys.map((key) => key.key),
            keys.map((key) => key.partition),
            keys.map((key) => key.namespace)
          ]),
        (result) => (result.rows as Array<ReadRow>).map(rowOf)
      ),
    readLeasing: (key, token, until, now) =>
      Effect.map(
        exec("read_leasing", readLeasing, [key.key, key.partition, key.namespace, token, until, now]),
        (result) => {
          const row = result.rows[0] as ReadRow & { readonly asked: boolean; readonly taken: boolean }
          return { row: rowOf(row), asked: row.asked, taken: row.taken }
        }
      ),
    fill: (row: Fill, release) =>
      Effect.map(
        exec(release === undefined ? "fill" : "fill_releasing", release === undefined ? fill : fillReleasing, [
          row.key.key,
          row.value,
          row.cachedAt,
          row.expiresAt,
          row.staleUntil,
          row.goneAt,
          row.k,
          row.p,
          row.n,
          row.key.partition,
          row.key.namespace,
          ...(release === undefined ? [] : [release])
        ]),
        (result) => result.rowCount === 1
      ),
    invalidate: (target, soft, now, tombstoneUntil) =>
      Effect.asVoid(
        target._tag === "Key"
          ? exec(soft ? "soft_key" : "key", invalidateKey(soft), [target.key, tombstoneUntil])
          : exec("scope", invalidateScope, [
            target._tag === "Partition" ? "p" : "n",
            target._tag === "Partition" ? target.partition : target.namespace,
            soft,
            now
          ])
      ),
    acquire: (key, token, until, now) =>
      Effect.map(
        exec(
          "acquire",
          `INSERT INTO ${leases} AS l (key, token, until) VALUES ($1::text, $2::text, $3::bigint)
           ON CONFLICT (key) DO UPDATE SET token = excluded.token, until = excluded.until WHERE l.until <= $4::bigint`,
          [key, token, until, now]
        ),
        (result) => result.rowCount === 1
      ),
    release: (key, token) =>
      Effect.asVoid(exec("release", `DELETE FROM ${leases} WHERE key = $1::text AND token = $2::text`, [key, token])),
    held: (key, now) =>
      Effect.map(
        exec("held", `SELECT 1 FROM ${leases} WHERE key = $1::text AND until > $2::bigint`, [key, now]),
        (result) => result.rows.length > 0
      ),
    sweep: (now, stampsBefore, batch) =>
      Effect.map(exec("sweep", sweep, [now, stampsBefore, batch]), (result) => Number(result.rows[0]?.deleted ?? 0))
  }
}
