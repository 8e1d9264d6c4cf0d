import { Cached, InvalidationEngine } from "@cachefx/core"
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { cpSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import * as app from "./fixtures/app.js"

const path = (relative: string) => fileURLToPath(new URL(relative, import.meta.url))
const fixture = (name: string) => path(`fixtures/${name}.ts`)
const blogCaches = path("../../../examples/blog/caches.ts")

/** The `caches` array examples/blog gives its engine (outside this project's sources: imported at run time). */
const blogEngineCaches = async (): Promise<ReadonlyArray<Cached.Cached.Any>> => {
  const { caches }: { readonly caches?: unknown } = await import(blogCaches)
  if (!Array.isArray(caches) || !caches.every(Cached.isCached)) {
    throw new Error("examples/blog/caches.ts no longer exports its cached values as `caches`")
  }
  return caches
}

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const exec = (args: ReadonlyArray<string>): Promise<Run> =>
  promisify(execFile)(process.execPath, args).then(
    ({ stderr, stdout }) => ({ code: 0, stdout, stderr }),
    (error: Run) => error
  )

/** Runs `cachefx` as a child process from the TypeScript sources: tsx, the workspace's `@cachefx/source` condition. */
const cachefx = (...args: ReadonlyArray<string>) =>
  exec(["--import", "tsx", "--conditions=@cachefx/source", path("../src/bin.ts"), ...args])

const appText = [
  "posts",
  "  posts(author=author_id,post=id) → posts (namespace posts): reads author=author_id, post=id; on insert/update/delete, rewarm; dispatcher inline",
  "  posts(author=author_id) → feed (namespace posts): reads author=author_id; on insert/update/delete, soft; dispatcher pool",
  "",
  "users",
  "  users(custom)[delete] → feed (namespace posts): custom invalidator; on delete; dispatcher inline"
].join("\n")

describe("cachefx rules", () => {
  it("prints the tables, rules, cached values and dispatchers, and on stderr where it found them", async () => {
    const { code, stderr, stdout } = await cachefx("rules", fixture("app"))
    expect(code).toBe(0)
    expect(stdout.trim()).toBe(appText)
    expect(stderr).toContain("  posts (namespace posts): engineOptions.caches[0], getPost")
    expect(stderr).toContain("not looked into: port (number)")
  })

  it("prints with --format json (or --json) exactly what InvalidationEngine.describe gives", async () => {
    const expected = InvalidationEngine.describe(app.engineOptions)
    expect(JSON.parse((await cachefx("rules", "--format", "json", fixture("app"))).stdout)).toEqual(expected)
    expect(JSON.parse((await cachefx("rules", "--json", fixture("app"))).stdout)).toEqual(expected)
  })

  it("draws a Mermaid flowchart with --format mermaid: tables → rules → cached values", async () => {
    const { stdout } = await cachefx("rules", "--format", "mermaid", fixture("app"))
    expect(stdout.trim()).toBe([
      "flowchart LR",
      "  t0[(\"posts\")]",
      "  r0_0{{\"posts(author=author_id,post=id)<br/>on insert/update/delete, rewarm; inline\"}}",
      "  t0 --> r0_0",
      "  c0[\"posts\"]",
      "  r0_0 --> c0",
      "  r0_1{{\"posts(author=author_id)<br/>on insert/update/delete, soft; pool\"}}",
      "  t0 --> r0_1",
      "  c1[\"feed<br/>namespace posts\"]",
      "  r0_1 --> c1",
      "  t1[(\"users\")]",
      "  r1_0{{\"users(custom)[delete]<br/>custom; on delete; inline\"}}",
      "  t1 --> r1_0",
      "  r1_0 --> c1"
    ].join("\n"))
  })

  it("lists the 3 rules on posts of examples/blog: a ResponseCache handler's, a value's, a custom one", async () => {
    const { code, stderr, stdout } = await cachefx("rules", "--format", "json", blogCaches)
    expect(code).toBe(0)
    const description = JSON.parse(stdout) as InvalidationEngine.Description
    expect(description).toEqual(InvalidationEngine.describe({ caches: await blogEngineCaches() }))
    expect(description.tables.map(({ rules, table }) => [table, rules.map((rule) => rule.rule)])).toEqual([
      ["posts", ["posts(authorId=author_id)", "posts(postId=id)", "posts(stats)"]]
    ])
    expect(stderr).toContain(`${blogCaches}: 3 cached values`)
    expect(stderr).toContain("author-posts (namespace author-posts): caches[0], authorPosts.cache")
  })

  it("matches the Mermaid graph drawn in examples/blog/README.md", async () => {
    const readme = readFileSync(path("../../../examples/blog/README.md"), "utf8")
    const drawn = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(drawn?.trim()).toBe((await cachefx("rules", "--format", "mermaid", blogCaches)).stdout.trim())
  })

  it("fails with a message for a module without cached values, or one that does not import", async () => {
    const empty = await cachefx("rules", fixture("empty"))
    expect(empty.code).not.toBe(0)
    expect(empty.stderr).toContain("exports no cached value")
    expect(empty.stderr).toContain("not looked into: port (number)")
    const missing = await cachefx("rules", "no/such/module.js")
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toContain(`Module "no/such/module.js": cannot be imported`)
  })
})

describe("the cachefx bin", () => {
  it("is linked by npm install into node_modules/.bin, to a file the package commits", () => {
    expect(realpathSync(path("../../../node_modules/.bin/cachefx"))).toBe(path("../bin/cachefx.js"))
  })

  it("runs the TypeScript sources in a checkout that has not been built", async () => {
    // the bin beside the sources but without dist/, inside the workspace so that tsx resolves
    const unbuilt = path("../build/unbuilt/")
    rmSync(unbuilt, { recursive: true, force: true })
    mkdirSync(unbuilt, { recursive: true })
    cpSync(path("../bin"), `${unbuilt}bin`, { recursive: true })
    symlinkSync(path("../src"), `${unbuilt}src`)
    const { code, stdout } = await exec([`${unbuilt}bin/cachefx.js`, "rules", fixture("app")])
    expect(code).toBe(0)
    expect(stdout.trim()).toBe(appText)
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
