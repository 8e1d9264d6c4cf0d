/**
 * Two tiers over Redis with two real processes: instance A is this test process,
 * instance B a child process (tiersChild.ts). A writes the database (a plain Redis key)
 * and invalidates through its store (a management call, or an event published to its
 * invalidation engine); B reads through its own L1.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { CacheSettings, type CacheStore, Invalidation, InvalidationEngine, InvalidationEvent } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect, Layer, Schedule } from "effect"
import { Redis } from "ioredis"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { cleanup, sharedUrl } from "./redis.js"
import { type Input, readTruth, type Reply, truthKey } from "./tiersFixture.js"

const prefix = `redis-tiers-${process.pid}-${Date.now()}`
const channel = `${prefix}:sync`
const subscriberOfB = `${prefix}-b`

let raw: Redis
let clientOfA: Redis
let b: ChildProcess
const pending = new Map<number, (reply: Reply) => void>()
let requests = 0

beforeAll(async () => {
  raw = new Redis(sharedUrl)
  clientOfA = new Redis(sharedUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0 })
  b = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "--conditions=@cachefx/source",
      fileURLToPath(new URL("./tiersChild.ts", import.meta.url)),
      prefix,
      channel,
      subscriberOfB
    ],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] }
  )
  await new Promise<void>((resolve, reject) => {
    b.once("exit", (code) => reject(new Error(`instance B exited (${code})`)))
    b.on("message", (message: Reply | "ready") => {
      if (message === "ready") {
        return resolve()
      }
      pending.get(message.id)?.(message)
      pending.delete(message.id)
    })
  })
}, 30_000)

afterAll(async () => {
  b?.kill("SIGKILL")
  await cleanup(prefix)
  await Promise.all([raw?.quit(), clientOfA?.quit()])
})

/** A read on instance B. */
const readOnB = (input: Input) =>
  Effect.async<Reply>((resume) => {
    const id = requests++
    pending.set(id, (reply) => resume(Effect.succeed(reply)))
    b.send({ id, input })
  })

const Settings = CacheSettings.layer({ keyPrefix: prefix, operationTimeout: "1 second" })

/** Instance A: `RedisStore.layer` with an L1. */
const InstanceA = () =>
  RedisStore.layer({ client: clientOfA, l1: { capacity: 1_000 }, sync: { channel, connectionName: `${prefix}-a` } }).pipe(
    Layer.provideMerge(Settings)
  )

const valueOnA = () => readTruth(clientOfA, prefix)

type Invalidate = (value: ReturnType<typeof valueOnA>, input: Input) => Effect.Effect<void, unknown, CacheStore.CacheStore>
const invalidations: ReadonlyArray<Invalidate> = [
  (value, input) => value.delete(input),
  (value, input) => value.deletePartition({ group: input.group }),
  (value) => value.invalidateAll,
  // a write published to the engine, as the Drizzle hooks publish it: the rule deletes the key
  (value, input) =>
    Invalidation.publish(InvalidationEvent.make({ table: "truth", operation: "update", rows: [input] })).pipe(
      Effect.provide(InvalidationEngine.layer({ caches: [value] }))
    )
]

/**
 * The time a pub/sub message may take to reach B. The reply to A's `PUBLISH` does not
 * wait for the copy Redis writes to B's subscriber, and on this shared 2-core machine
 * writing the reply can wake A, which then asks B before Redis has written B's copy:
 * B has been seen to receive a message 23 ms after the request that followed it.
 */
const delivery = "60 millis"

/** Writes the database through A, invalidates the way of round `round`, and lets the message travel. */
const writeOnA = (value: ReturnType<typeof valueOnA>, input: Input, written: string, round: number) =>
  Effect.promise(() => raw.set(truthKey(prefix, input), written)).pipe(
    Effect.zipRight(invalidations[round % invalidations.length]!(value, input)),
    Effect.zipRight(Effect.sleep(delivery))
  )

/** The id of B's subscriber connection, once it is subscribed again. */
const subscriberId = Effect.promise(async () => {
  const list = (await raw.client("LIST")) as string
  const line = list.split("\n").find((line) => line.includes(` name=${subscriberOfB} `) && line.includes(" sub=1 "))
  return line?.match(/^id=(\d+)/)?.[1]
})

const subscribedAgain = Effect.flatMap(subscriberId, (id) =>
  id === undefined ? Effect.fail("not yet") : Effect.succeed(id)).pipe(
    Effect.retry(Schedule.intersect(Schedule.spaced("20 millis"), Schedule.recurs(200))),
    Effect.orDie
  )

describe("two tiers over Redis, two processes", () => {
  it.live("a write through A is read fresh on B every time, while B's L1 serves between writes", () =>
    Effect.gen(function*() {
      const value = valueOnA()
      const input = { group: 1, id: 1 }
      for (let round = 0; round < 30; round++) {
        yield* readOnB(input)
        const warm = yield* readOnB(input)
        expect((yield* readOnB(input)).l2Reads).toBe(warm.l2Reads) // an L1 hit
        yield* writeOnA(value, input, `v${round}`, round)
        expect((yield* readOnB(input)).value).toBe(`v${round}`)
      }
    }).pipe(Effect.provide(InstanceA())), 30_000)

  it.live("fresh on B right after its subscriber connection is killed, while it reconnects, and after", () =>
    Effect.gen(function*() {
      const value = valueOnA()
      const input = { group: 2, id: 1 }
      let round = 0
      for (let kill = 0; kill < 4; kill++) {
        const id = yield* subscribedAgain
        yield* readOnB(input)
        yield* readOnB(input) // in B's L1
        yield* Effect.promise(() => raw.client("KILL", "ID", id))
        // B reconnects a second after the drop: these writes' messages are lost to it
        let bypassed = 0
        for (let i = 0; i < 3; i++, round++) {
          yield* writeOnA(value, input, `k${kill}-${i}`, round)
          const read = yield* readOnB(input)
          expect(read.value, `read ${JSON.stringify(read)}`).toBe(`k${kill}-${i}`)
          const again = yield* readOnB(input)
          if ((yield* subscriberId) === undefined) { // both reads were made before B subscribed again
            expect(again.l2Reads, "no L1 while disconnected").toBe(read.l2Reads + 1)
            bypassed++
          }
        }
        expect(bypassed).toBeGreaterThan(0)
        yield* subscribedAgain
        yield* Effect.sleep(delivery) // B applies its "Connected"
        yield* readOnB(input)
        const warm = yield* readOnB(input)
        expect((yield* readOnB(input)).l2Reads).toBe(warm.l2Reads) // B's L1 serves again
        yield* writeOnA(value, input, `after-${kill}`, round++)
        expect((yield* readOnB(input)).value).toBe(`after-${kill}`)
      }
    }).pipe(Effect.provide(InstanceA())), 60_000)
})

describe("two tiers over Redis, one process", () => {
  it.live("an L1 hit makes no Redis call", () =>
    Effect.gen(function*() {
      const value = valueOnA()
      yield* Effect.promise(() => raw.set(truthKey(prefix, { group: 3, id: 1 }), "x"))
      yield* value({ group: 3, id: 1 }) // a miss: read, compute, fill
      // redis-cli's MONITOR: every command Redis runs, with the address of its client
      let seen = ""
      const monitor = yield* Effect.acquireRelease(
        Effect.async<ChildProcess>((resume) => {
          const url = new URL(sharedUrl)
          const child = spawn("redis-cli", ["-h", url.hostname, "-p", url.port || "6379", "monitor"])
          child.stdout.on("data", (chunk: Buffer) => {
            seen += chunk.toString()
            if (seen.startsWith("OK")) {
              resume(Effect.succeed(child))
            }
          })
        }),
        (child) => Effect.sync(() => child.kill())
      )
      const address = `127.0.0.1:${clientOfA.stream.localPort}`
      const commandsOfA = () => seen.split("\n").filter((line) => line.includes(`[0 ${address}]`))
      for (let i = 0; i < 200; i++) {
        expect(yield* value({ group: 3, id: 1 })).toBe("x")
      }
      yield* value({ group: 3, id: 2 }) // a miss, which the monitor must see
      yield* Effect.sleep("200 millis")
      monitor.kill()
      // the miss's read and fill, and its computation's GET
      expect(commandsOfA().map((line) => line.split(" ")[3])).toEqual(['"evalsha"', '"get"', '"evalsha"'])
    }).pipe(Effect.provide(InstanceA()), Effect.scoped), 30_000)
})
