import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))
const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}.ts`, import.meta.url))

/** Runs `cachefx` as a child process, from the TypeScript sources (tsx, the `source` export condition). */
const cachefx = (...args: ReadonlyArray<string>) =>
  promisify(execFile)(process.execPath, ["--import", "tsx", "--conditions", "@cachefx/source", bin, ...args]).then(
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
