import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))
const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}.ts`, import.meta.url))

/** Runs `cachefx` as a child process, from the TypeScript sources (tsx, the `source` export condition). */
const cachefx = (...args: ReadonlyArray<string>) =>
  promisify(execFile)(process.execPath, ["--import", "tsx", "--conditions", "source", bin, ...args]).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: "" }),
    (error: { code: number; stdout: string; stderr: string }) => error
  )

describe("cachefx rules", () => {
  it("prints the tables, rules, cached values and dispatchers of a module's cached values", async () => {
    const { code, stdout } = await cachefx("rules", fixture("app"))
    expect(code).toBe(0)
    expect(stdout.trim()).toBe([
      "posts",
      "  posts(author=author_id,post=id) → posts (namespace posts): reads author=author_id, post=id; on insert/update/delete, rewarm; dispatcher inline",
      "  posts(author=author_id) → feed (namespace posts): reads author=author_id; on insert/update/delete, soft; dispatcher pool",
      "",
      "users",
      "  users(custom)[delete] → feed (namespace posts): custom invalidator; on delete; dispatcher inline"
    ].join("\n"))
  })

  it("prints the description as JSON with --json", async () => {
    const { stdout } = await cachefx("rules", "--json", fixture("app"))
    const description = JSON.parse(stdout)
    expect(description.tables.map((table: { readonly table: string }) => table.table)).toEqual(["posts", "users"])
    expect(description.tables[0].rules[1]).toMatchObject({ rule: "posts(author=author_id)", cache: "feed", dispatcher: "pool" })
  })

  it("fails with a message for a module without cached values, or one that does not import", async () => {
    const empty = await cachefx("rules", fixture("empty"))
    expect(empty.code).not.toBe(0)
    expect(empty.stderr).toContain("exports no cached value and no engine options")
    const missing = await cachefx("rules", "no/such/module.js")
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toContain(`Module "no/such/module.js": cannot be imported`)
  })
})

describe("cachefx cdc", () => {
  const url = "postgres://postgres@127.0.0.1:5432/test"
  const names = ["--slot", "cachefx_test_cli", "--publication", "cachefx_test_cli"]
  const psql = (sql: string) =>
    promisify(execFile)("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qAtc", sql]).then(({ stdout }) => stdout)
  const cleanUp = () =>
    psql(
      "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = 'cachefx_test_cli'; " +
        "drop publication if exists cachefx_test_cli; drop schema if exists cdc_cli cascade"
    )

  // three runs of the command (each starts tsx): allow for a loaded machine
  it("creates, inspects and drops the slot and the publication", async () => {
    await cleanUp()
    await psql("create schema cdc_cli; create table cdc_cli.users (id integer primary key)")
    try {
      const created = await cachefx("cdc", "create", "--url", url, ...names, "--schema", "cdc_cli", fixture("cdc"))
      expect(created.stderr).toBe("")
      expect(created.stdout).toContain("publication cachefx_test_cli over cdc_cli.users; slot cachefx_test_cli")
      const inspected = await cachefx("cdc", "inspect", "--url", url, ...names)
      expect(inspected.stdout).toContain("slot cachefx_test_cli: not held: no consumer reads it")
      expect(inspected.stdout).toContain("publication cachefx_test_cli: cdc_cli.users")
      expect(inspected.stdout).toContain("wal_level logical")
      const dropped = await cachefx("cdc", "drop", "--url", url, ...names)
      expect(dropped.stdout).toContain("dropped slot cachefx_test_cli")
      expect(await psql("select count(*) from pg_replication_slots where slot_name = 'cachefx_test_cli'")).toBe("0\n")
      expect(await psql("select count(*) from pg_publication where pubname = 'cachefx_test_cli'")).toBe("0\n")
    } finally {
      await cleanUp()
    }
  }, 180_000)
})
