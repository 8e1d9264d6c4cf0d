/**
 * The PostgreSQL of the tests (`PG_URL`, default the local `test` database) and a schema
 * of each test file's own, made before its tests and dropped after them.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import pg from "pg"

export const url = process.env["PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"

/** A pool of the test database; its idle errors are ignored (a test may cut its connections). */
export const poolOf = (options: pg.PoolConfig = {}): pg.Pool => {
  const pool = new pg.Pool({ connectionString: url, max: 4, ...options })
  pool.on("error", () => {})
  return pool
}

/**
 * A schema named `name` with the process id, made empty before the file's tests and
 * dropped after them, and a pool of the test database for the file (ended after them).
 */
export const schemaFor = (name: string) => {
  const schema = `${name}_${process.pid}`
  const pool = poolOf()
  beforeAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; CREATE SCHEMA "${schema}"`)
  })
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await pool.end()
  })
  return { schema, pool }
}
