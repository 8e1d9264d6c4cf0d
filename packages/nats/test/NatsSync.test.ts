import { describe, expect, it } from "@effect/vitest"
import { CacheError, CacheKey, CacheStore, CacheSync } from "@cachefx/core"
import { NatsSync } from "@cachefx/nats"
import { connect, type NodeConnectionOptions } from "@nats-io/transport-node"
import { Config, ConfigError, ConfigProvider, Context, Duration, Effect, Layer, Logger, Option, Queue } from "effect"
import { freePort, startProxy } from "@cachefx/testkit"
import { startServer } from "./servers.js"

/** This file's subjects, apart from every other run's on the shared server. */
const base = `cachefx-test.nats.${process.pid}.${Date.now()}`
let tests = 0
const freshSubject = () => `${base}.${tests++}`

const shared = "127.0.0.1:4222"

const open = (options: NodeConnectionOptions) =>
  Effect.acquireRelease(
    Effect.promise(() => connect(options)),
    (connection) => Effect.promise(() => connection.close())
  )

/** The next event of a subscription; a test fails when none comes within `within`. */
const next = (events: Queue.Dequeue<CacheSync.Event>, within: Duration.DurationInput = "3 seconds") =>
  Queue.take(events).pipe(Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`no event within ${Duration.format(within)}`) }))

const message = (origin: string, namespace = "cachefx:users"): CacheSync.Message => ({
  _tag: "Namespace",
  origin,
  namespace
})

const connected: CacheSync.Event = { _tag: "Connected" }
const disconnected: CacheSync.Event = { _tag: "Disconnected" }

describe("NatsSync", () => {
  it.scopedLive("two instances receive each other's messages and their own, in order", () =>
    Effect.gen(function*() {
      const subject = freshSubject()
      const a = yield* NatsSync.make({ connection: yield* open({ servers: shared }), subject })
      const b = yield* NatsSync.make({ connection: yield* open({ servers: shared }), subject })
      const onA = yield* a.subscribe
      const onB = yield* b.subscribe
      expect(yield* next(onA)).toEqual(connected)
      expect(yield* next(onB)).toEqual(connected)
      const key: CacheSync.Message = { _tag: "Key", origin: "a", namespace: "n", partition: "n:1:#p", key: "n:1:#p:#k" }
      yield* a.publish(key)
      yield* b.publish(message("b"))
      for (const events of [onA, onB]) {
        expect(yield* next(events)).toEqual({ _tag: "Received", message: key })
        expect(yield* next(events)).toEqual({ _tag: "Received", message: message("b") })
      }
    }))

  it.scopedLive("Connected only once the server has the subscription: a message published right after arrives", () =>
    Effect.gen(function*() {
      const subject = freshSubject()
      // what B sends reaches the server 150 ms late, its SUB included
      const proxy = yield* Effect.acquireRelease(
        Effect.promise(() => startProxy(4222).then((proxy) => (proxy.delay(150, "toServer"), proxy))),
        (proxy) => Effect.promise(proxy.close)
      )
      const a = yield* NatsSync.make({ connection: yield* open({ servers: shared }), subject })
      const b = yield* NatsSync.make({ connection: yield* open({ servers: `127.0.0.1:${proxy.port}` }), subject })
      const onB = yield* b.subscribe
      expect(yield* next(onB)).toEqual(connected)
      yield* a.publish(message("a"))
      expect(yield* next(onB, "1 second")).toEqual({ _tag: "Received", message: message("a") })
    }))

  it.scopedLive("a connection closed by the application: Disconnected, and a publish fails with CacheSyncError", () =>
    Effect.gen(function*() {
      const connection = yield* open({ servers: shared })
      const sync = yield* NatsSync.make({ connection, subject: freshSubject() })
      const events = yield* sync.subscribe
      expect(yield* next(events)).toEqual(connected)
      yield* Effect.promise(() => connection.close())
      expect(yield* next(events)).toEqual(disconnected)
      const error = yield* Effect.flip(sync.publish(message("a")))
      expect(error).toBeInstanceOf(CacheSync.CacheSyncError)
      expect(error.message).toContain("over NATS could not publish")
    }))

  it.scopedLive("a server that dies: Disconnected at once; Connected once subscribed on its successor, whose messages arrive from then on", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const servers = `127.0.0.1:${port}`
      let server = yield* Effect.promise(() => startServer(port))
      yield* Effect.addFinalizer(() => Effect.promise(() => server.kill()))
      const subject = freshSubject()
      const connection = yield* open({ servers, reconnectTimeWait: 50, maxReconnectAttempts: -1 })
      const events = yield* Effect.flatMap(NatsSync.make({ connection, subject }), (sync) => sync.subscribe)
      expect(yield* next(events)).toEqual(connected)
      yield* Effect.promise(() => server.kill())
      expect(yield* next(events, "1 second")).toEqual(disconnected)
      server = yield* Effect.promise(() => startServer(port))
      expect(yield* next(events)).toEqual(connected)
      // published by another connection right after: the subscription is in place already
      const other = yield* NatsSync.make({ connection: yield* open({ servers }), subject })
      yield* other.publish(message("other"))
      expect(yield* next(events)).toEqual({ _tag: "Received", message: message("other") })
    }))

  it.scopedLive("a server that stops answering: Disconnected within two ping intervals, publishing times out, Connected when it answers again", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const server = yield* Effect.promise(() => startServer(port))
      yield* Effect.addFinalizer(() => Effect.promise(() => server.kill()))
      // the client itself would drop the connection only after 50 unanswered pings
      const connection = yield* open({ servers: `127.0.0.1:${port}`, pingInterval: 100, maxPingOut: 50 })
      const sync = yield* NatsSync.make({ connection, subject: freshSubject() })
      const events = yield* sync.subscribe
      expect(yield* next(events)).toEqual(connected)
      server.pause()
      const start = Date.now()
      expect(yield* next(events, "2 seconds")).toEqual(disconnected)
      expect(Date.now() - start).toBeLessThan(1_000) // 200 ms in theory, on a loaded machine
      // a publish gets no answer: it fails at the operationTimeout setting (250 ms by default)
      const error = yield* Effect.flip(sync.publish(message("unanswered")))
      expect(error.message).toContain("no answer within operationTimeout (250 ms)")
      yield* Effect.sleep("300 millis")
      server.resume()
      expect(yield* next(events)).toEqual(connected)
      yield* sync.publish(message("a"))
      expect(yield* next(events)).toEqual({ _tag: "Received", message: message("a") })
    }))

  it.scopedLive("a message it cannot read is logged, and counts as lost: Disconnected, then Connected", () =>
    Effect.gen(function*() {
      const subject = freshSubject()
      const logs: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        logs.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
      })
      const sync = yield* NatsSync.make({ connection: yield* open({ servers: shared }), subject }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      const events = yield* sync.subscribe
      expect(yield* next(events)).toEqual(connected)
      const raw = yield* open({ servers: shared })
      for (const payload of ["not json", JSON.stringify({ _tag: "Key", origin: "a" })]) {
        raw.publish(subject, payload)
        expect(yield* next(events)).toEqual(disconnected)
        expect(yield* next(events)).toEqual(connected)
      }
      expect(logs).toHaveLength(2)
      expect(logs[0]).toMatch(/^WARN .*cannot read.*L1 is cleared/)
      yield* sync.publish(message("a"))
      expect(yield* next(events)).toEqual({ _tag: "Received", message: message("a") })
    }))

  it.scopedLive("a subject with a wildcard is refused when the channel is made", () =>
    Effect.gen(function*() {
      const connection = yield* open({ servers: shared })
      for (const subject of ["cachefx.*", "cachefx.>", "cache fx", "", "cachefx..sync"]) {
        expect(() => NatsSync.make({ connection, subject })).toThrow(CacheError.CacheDefinitionError)
      }
    }))

  it.scopedLive("layerConfig connects to the url it reads from Config, and fails with NatsConnectError where nothing answers", () =>
    Effect.gen(function*() {
      const fromConfig = NatsSync.layerConfig({ url: Config.redacted("NATS_URL"), subject: Config.string("NATS_SUBJECT") })
      const withUrl = (url: string) =>
        Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["NATS_URL", url], ["NATS_SUBJECT", "cachefx.config-test"]])))
      const sync = Context.get(yield* Layer.build(fromConfig.pipe(Layer.provide(withUrl(shared)))), CacheSync.CacheSync)
      const events = yield* sync.subscribe
      expect(yield* next(events)).toEqual(connected)
      yield* sync.publish(message("config"))
      expect(yield* next(events)).toEqual({ _tag: "Received", message: message("config") })

      const port = yield* Effect.promise(freePort)
      const error = yield* Effect.flip(Layer.build(fromConfig.pipe(Layer.provide(withUrl(`127.0.0.1:${port}`)))))
      expect(error).toBeInstanceOf(NatsSync.NatsConnectError)
      expect((error as NatsSync.NatsConnectError).message).toContain("check the url given to NatsSync.layerConfig")

      const missing = yield* Effect.flip(Layer.build(fromConfig.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))))))
      expect(ConfigError.isConfigError(missing)).toBe(true)
    }))
})

describe("a tiered store synced through NATS", () => {
  const keyOf = (partition: string, suffix: string): CacheKey.CacheKey => {
    const namespace = `${base}-tiers`
    const scope = `${namespace}:1:#${partition}`
    return { namespace, partition: scope, key: `${scope}:#${suffix}` }
  }

  /** One instance: its own connection and L1, over the shared L2; `l2Reads` counts its reads of L2. */
  const instance = (l2: CacheStore.Service, subject: string) =>
    Effect.gen(function*() {
      const probe = { l2Reads: 0 }
      const counted: CacheStore.Service = { ...l2, get: (key) => Effect.suspend(() => (probe.l2Reads++, l2.get(key))) }
      const store = yield* CacheStore.makeTiered({
        l1: CacheStore.makeMemory({ capacity: 100 }),
        l2: counted,
        sync: yield* NatsSync.make({ connection: yield* open({ servers: shared }), subject })
      })
      return { store, probe }
    })

  const fill = (store: CacheStore.Service, key: CacheKey.CacheKey, value: string) =>
    Effect.flatMap(store.get(key), (lookup) =>
      store.set(key, { value, cachedAt: 0, expiresAt: null, staleUntil: null }, lookup.guard))

  const read = (store: CacheStore.Service, key: CacheKey.CacheKey) =>
    Effect.map(store.get(key), (lookup) => Option.getOrUndefined(Option.map(lookup.entry, (entry) => entry.value)))

  const invalidations: Record<string, (store: CacheStore.Service, key: CacheKey.CacheKey) => Effect.Effect<void, unknown>> = {
    "an exact delete": (store, key) => store.invalidate(CacheKey.key(key)),
    "a partition wipe": (store, key) => store.invalidate(CacheKey.partition(key)),
    "a namespace wipe": (store, key) => store.invalidate(CacheKey.namespace(key.namespace))
  }

  for (const [name, invalidate] of Object.entries(invalidations)) {
    it.scopedLive(`${name} on one instance removes the other's L1 copy`, () =>
      Effect.gen(function*() {
        const subject = freshSubject()
        const l2 = yield* CacheStore.makeMemory()
        const a = yield* instance(l2, subject)
        const b = yield* instance(l2, subject)
        const key = keyOf(name.replace(/ /g, "-"), "k")
        yield* fill(a.store, key, "old")
        expect(yield* read(b.store, key)).toBe("old")
        const reads = b.probe.l2Reads
        expect(yield* read(b.store, key)).toBe("old")
        expect(b.probe.l2Reads).toBe(reads) // served by B's L1
        yield* invalidate(a.store, key)
        yield* fill(a.store, key, "new")
        // B's L1 keeps "old" until the message arrives: wait for it, a bounded while
        const seen = yield* read(b.store, key).pipe(
          Effect.zipLeft(Effect.sleep("10 millis")),
          Effect.repeat({ until: (value) => value === "new", times: 200 })
        )
        expect(seen).toBe("new")
        const after = b.probe.l2Reads
        expect(yield* read(b.store, key)).toBe("new")
        expect(b.probe.l2Reads).toBe(after) // and L1 serves again
      }))
  }
})
