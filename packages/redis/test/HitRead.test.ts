/**
 * A read that finds an entry answers without reading Redis's clock (a hit reads no
 * clock): its guard's fill window is checked on the client's. These tests try to make
 * the guard of such a read fill over an invalidation: every invalidation of the key, its
 * partition or its namespace, hard or soft, made between the hit and a fill under its
 * guard, must refuse that fill; so must the fill window; and a read that found no entry
 * keeps Redis's time, which alone refuses a fill once a delete's tombstone has expired.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { CacheKey, CacheSettings, type CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { type Duration, Effect, Option } from "effect"
import { type Command, Redis } from "ioredis"
import { keyIn } from "@cachefx/testkit/StoreContract"
import { cleanup, sharedUrl } from "./redis.js"

const run = `hitread-${process.pid}`
const client = new Redis(sharedUrl)
afterAll(() => cleanup(run).finally(() => client.quit()))

const entry = (value: string) => {
  const now = Date.now()
  return { value, cachedAt: now, expiresAt: now + 60_000, staleUntil: now + 60_000 }
}

/** A store on a client that records the commands it sends. */
const storeWith = (fillWindow: Duration.DurationInput = "5 seconds") =>
  Effect.gen(function*() {
    const counted = new Redis(sharedUrl)
    yield* Effect.addFinalizer(() => Effect.promise(() => counted.quit()))
    const sent: Array<string> = []
    const send = counted.sendCommand.bind(counted)
    counted.sendCommand = (command: Command, stream?: never) => {
      sent.push(command.name)
      return send(command, stream)
    }
    const store = yield* RedisStore.make({ client: counted }).pipe(
      Effect.provide(CacheSettings.layer({ operationTimeout: "2 seconds", fillWindow }))
    )
    return { store, sent }
  })

/** Fills a key, then reads it: the guard of a hit, one script call. */
const hitOf = (store: CacheStore.Service, sent: Array<string>, key: ReturnType<typeof keyIn>) =>
  Effect.gen(function*() {
    expect(yield* store.set(key, entry("first"), (yield* store.get(key)).guard)).toBe(true)
    sent.length = 0
    const hit = yield* store.get(key)
    expect(Option.map(hit.entry, (entry) => entry.value)).toEqual(Option.some("first"))
    expect(sent).toEqual(["evalsha"])
    return hit
  })

const invalidations: ReadonlyArray<
  readonly [string, (store: CacheStore.Service, key: ReturnType<typeof keyIn>) => Effect.Effect<void, unknown, never>]
> = [
  ["a hard delete of the key", (store, key) => store.invalidate(CacheKey.key(key))],
  ["a soft delete of the key", (store, key) => store.invalidate(CacheKey.key(key), { soft: true })],
  ["a hard wipe of its partition", (store, key) => store.invalidate(CacheKey.partition(key))],
  ["a soft wipe of its partition", (store, key) => store.invalidate(CacheKey.partition(key), { soft: true })],
  ["a hard wipe of its namespace", (store, key) => store.invalidate(CacheKey.namespace(key.namespace))],
  ["a soft wipe of its namespace", (store, key) => store.invalidate(CacheKey.namespace(key.namespace), { soft: true })]
]

describe("RedisStore: the guard of a hit, read with no Redis time", () => {
  for (const [name, invalidate] of invalidations) {
    it.scoped(`its guard refuses a fill after ${name}`, () =>
      Effect.gen(function*() {
        const { sent, store } = yield* storeWith()
        const key = keyIn(`${run}-${name.replace(/ /g, "-")}`, "p", "k")
        const hit = yield* hitOf(store, sent, key)
        yield* invalidate(store, key)
        expect(yield* store.set(key, entry("refreshed over the invalidation"), hit.guard)).toBe(false)
        const after = yield* store.get(key)
        expect(Option.map(after.entry, (entry) => entry.value)).not.toEqual(Option.some("refreshed over the invalidation"))
      }))
  }

  it.scoped("its guard fills when nothing was invalidated (a refresh ahead)", () =>
    Effect.gen(function*() {
      const { sent, store } = yield* storeWith()
      const key = keyIn(`${run}-refresh`, "p", "k")
      const hit = yield* hitOf(store, sent, key)
      expect(yield* store.set(key, entry("refreshed"), hit.guard)).toBe(true)
      expect(Option.map((yield* store.get(key)).entry, (entry) => entry.value)).toEqual(Option.some("refreshed"))
    }))

  it.scoped("its guard refuses a fill after the fill window, on the client's clock", () =>
    Effect.gen(function*() {
      const { sent, store } = yield* storeWith("200 millis")
      const key = keyIn(`${run}-window`, "p", "k")
      const hit = yield* hitOf(store, sent, key)
      yield* Effect.sleep("300 millis")
      expect(yield* store.set(key, entry("late"), hit.guard)).toBe(false)
    }).pipe(Effect.withClock(Effect.runSync(Effect.clock))))

  it.scoped("a guard of one key does not fill another, even of the same partition", () =>
    Effect.gen(function*() {
      const { sent, store } = yield* storeWith()
      const key = keyIn(`${run}-other`, "p", "k")
      const other = keyIn(`${run}-other`, "p", "j")
      yield* store.set(other, entry("other"), (yield* store.get(other)).guard)
      const hit = yield* hitOf(store, sent, key)
      expect(yield* store.set(other, entry("crossed"), hit.guard)).toBe(false)
    }))

  it.scoped("a read that found no entry keeps Redis's time: a fill under it after a delete's tombstone expired is refused", () =>
    Effect.gen(function*() {
      const { store } = yield* storeWith("300 millis")
      const key = keyIn(`${run}-tombstone`, "p", "k")
      const miss = yield* store.get(key)
      expect(Option.isNone(miss.entry)).toBe(true)
      yield* store.invalidate(CacheKey.key(key)) // a tombstone for the fill window
      yield* Effect.sleep("400 millis") // the tombstone has expired: the key holds nothing, as at the read
      expect(yield* store.set(key, entry("computed before the delete"), miss.guard)).toBe(false)
      expect(Option.isNone((yield* store.get(key)).entry)).toBe(true)
    }).pipe(Effect.withClock(Effect.runSync(Effect.clock))))
})
