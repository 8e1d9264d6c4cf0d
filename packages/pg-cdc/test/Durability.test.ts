import { ChangeStream, Slot } from "@cachefx/pg-cdc"
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { afterAll, beforeAll, describe } from "vitest"
import { cleanUp, connection, names } from "./support.js"

const file = names("durability")
const { publication, schema, slot } = file
const pool = new pg.Pool({ ...connection, max: 8 })
const script = fileURLToPath(new URL("./consumer.ts", import.meta.url))
const directory = mkdtempSync(join(tmpdir(), "cachefx-cdc-"))
const children: Array<ChildProcess> = []

beforeAll(async () => {
  await Effect.runPromise(cleanUp(pool, file))
  await pool.query(`create schema ${schema}`)
  await pool.query(`create table ${schema}.items (id integer primary key)`)
  await pool.query(`alter table ${schema}.items replica identity full`)
  await Effect.runPromise(Slot.create(pool, { slot, publication, schema, tables: ["items"] }))
})

afterAll(async () => {
  for (const child of children) {
    child.kill("SIGKILL")
  }
  await Effect.runPromise(cleanUp(pool, file))
  await pool.end()
})

/** A consumer process writing what it applies to `out`; resolves `holding` once it holds the slot. */
const consumer = (out: string) => {
  const child = spawn(process.execPath, ["--conditions=@cachefx/source", "--import", "tsx", script, schema, slot, publication, out], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  children.push(child)
  const holding = new Promise<void>((resolve) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("holding")) {
        resolve()
      }
    })
  })
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
  return { child, holding, exited }
}

/** The ids a consumer's file lists, one line per applied invalidation. */
const lines = (out: string): Array<number> =>
  existsSync(out) ? readFileSync(out, "utf8").split("\n").filter((line) => line !== "").map(Number) : []

const until = async (condition: () => boolean, timeout: number, what: string) => {
  const deadline = Date.now() + timeout
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * Inserts ids `from` … `to`, one transaction each, on every connection of the pool at
 * once; with a `gate`, the ids from `gate.at` on wait for `gate.open`, so that writes are
 * still going when it opens however fast the machine is.
 */
const write = async (from: number, to: number, gate?: { readonly at: number; readonly open: Promise<void> }) => {
  let next = from
  const writer = async () => {
    const client = await pool.connect()
    try {
      // committed all the same; the test does not need the server to survive a crash
      await client.query("set synchronous_commit = off")
      while (next <= to) {
        const id = next++
        if (gate !== undefined && id >= gate.at) {
          await gate.open
        }
        await client.query(`insert into ${schema}.items values ($1)`, [id])
      }
    } finally {
      client.release()
    }
  }
  await Promise.all(Array.from({ length: 8 }, writer))
}

describe("durability", () => {
  it.live("a consumer killed (kill -9) mid-stream with 10,000 writes in flight loses no invalidation on restart", () =>
    Effect.promise(async () => {
      const total = 10_000
      const out = join(directory, "killed.txt")
      const first = consumer(out)
      await first.holding
      let written = false
      let kill!: () => void
      // the second half of the writes starts with the kill: writes are in flight when it lands
      const killed = new Promise<void>((resolve) => {
        kill = resolve
      })
      const writing = write(1, total, { at: total / 2, open: killed }).then(() => {
        written = true
      })
      await until(() => lines(out).length >= 500, 30_000, "the first consumer to apply 500 writes")
      first.child.kill("SIGKILL")
      kill()
      await first.exited
      const appliedBeforeKill = new Set(lines(out)).size
      // the kill happened with writes still going, and with most of them not applied
      expect(written).toBe(false)
      expect(appliedBeforeKill).toBeLessThan(total)

      const second = consumer(out)
      await second.holding
      await writing
      await until(() => new Set(lines(out)).size >= total, 40_000, "every write to be applied")
      second.child.kill("SIGKILL")
      const applied = lines(out)
      const distinct = new Set(applied)
      const lost = Array.from({ length: total }, (_, i) => i + 1).filter((id) => !distinct.has(id))
      const duplicates = applied.length - distinct.size
      console.log(
        `kill -9 after ${appliedBeforeKill} of ${total} applied: ${lost.length} lost, ${duplicates} applied twice`
      )
      expect(lost).toEqual([])
      expect(distinct.size).toBe(total)
    }), 90_000)

  it.live("two consumers: one holds the slot; when it is killed (kill -9) the other takes over within seconds", () =>
    Effect.promise(async () => {
      const outs = [join(directory, "a.txt"), join(directory, "b.txt")]
      const consumers = outs.map(consumer)
      const holder = await Promise.race(consumers.map((c, i) => c.holding.then(() => i)))
      const other = 1 - holder
      // the other waits: it never holds the slot while the first does
      let otherHolds = false
      void consumers[other]!.holding.then(() => {
        otherHolds = true
      })
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect(otherHolds).toBe(false)

      await pool.query(`insert into ${schema}.items values (20001)`)
      await Effect.runPromise(ChangeStream.awaitApplied(pool, { slot, timeout: "20 seconds" }))
      expect(lines(outs[holder]!)).toContain(20001)
      const killedAt = Date.now()
      consumers[holder]!.child.kill("SIGKILL")
      await consumers[other]!.holding
      const tookOver = Date.now() - killedAt
      console.log(`took over ${tookOver} ms after the kill`)
      expect(tookOver).toBeLessThan(5_000)
      await pool.query(`insert into ${schema}.items values (20002)`)
      await until(() => lines(outs[other]!).includes(20002), 20_000, "the new holder to apply a write")
      // what the holder confirmed before it died is not applied again
      expect(lines(outs[other]!)).not.toContain(20001)
    }), 60_000)
})
