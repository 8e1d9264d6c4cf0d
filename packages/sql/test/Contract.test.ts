/**
 * The store contract of `@cachefx/testkit/StoreContract`, soft invalidation and leases
 * included, against PostgreSQL (a schema of this file's own) and SQLite (in memory, and
 * a file).
 */
import { describe } from "@effect/vitest"
import { SqlStore } from "@cachefx/sql"
import { contract } from "@cachefx/testkit/StoreContract"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { schemaFor } from "./postgres.js"

const { pool, schema } = schemaFor("sql_contract")

describe("PostgreSQL", () => {
  // a pool the application has: every test's store shares it and its tables
  contract("sql (PostgreSQL, a pool given)", SqlStore.layerPg({ pool, schema }), { soft: true, leases: true })
})

describe("SQLite", () => {
  const directory = mkdtempSync(join(tmpdir(), "cachefx-sql-"))
  afterAll(() => rmSync(directory, { recursive: true, force: true }))
  contract("sql (SQLite in memory)", SqlStore.layerSqlite({ filename: ":memory:" }), { soft: true, leases: true })
  contract("sql (SQLite file)", SqlStore.layerSqlite({ filename: join(directory, "cache.db"), table: "cache" }), {
    soft: true,
    leases: true
  })
})
