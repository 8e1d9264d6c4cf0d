/** The machine the report ran on, the code it measured, and the versions of the servers and the peer. */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as os from "node:os"
import pg from "pg"
import { loadAverage } from "../harness.js"

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memory: string
  readonly node: string
  readonly redis: string
  readonly postgres: string
  readonly bentocache: string
  readonly loadAverage: string
  /** The commit checked out, and whether the working tree (what runs) differs from it. */
  readonly revision: string
}

export { loadAverage } from "../harness.js"

const redisVersion = (): string => {
  try {
    return execFileSync("redis-server", ["--version"], { encoding: "utf8" }).match(/v=(\S+)/)?.[1] ?? "unknown"
  } catch {
    return "not installed"
  }
}

const postgresVersion = async (): Promise<string> => {
  const client = new pg.Client(process.env["DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test")
  try {
    await client.connect()
    const result = await client.query<{ server_version: string }>("SHOW server_version")
    return result.rows[0]?.server_version ?? "unknown"
  } catch (error) {
    return `unreachable (${String(error)})`
  } finally {
    await client.end().catch(() => undefined)
  }
}

const bentocacheVersion = (): string => {
  try {
    const manifest = new URL("../../node_modules/bentocache/package.json", import.meta.url)
    return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version
  } catch {
    return "not installed"
  }
}

const revision = (): string => {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim()
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" }).trim() !== ""
    return dirty ? `${commit} with uncommitted changes` : commit
  } catch {
    return "unknown"
  }
}

/** Reads the machine now; call it before the first benchmark, for the load average at start. */
export const describeMachine = async (): Promise<Machine> => ({
  cpu: os.cpus()[0]?.model ?? "unknown",
  cores: os.cpus().length,
  memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  node: process.version,
  redis: redisVersion(),
  postgres: await postgresVersion(),
  bentocache: bentocacheVersion(),
  loadAverage: loadAverage(),
  revision: revision()
})
