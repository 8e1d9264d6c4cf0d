/**
 * What the broker contract's two processes share (the test and its child worker,
 * which must not load vitest): the broker under test, the cached value and the engine
 * over the shared Redis, where both processes read and invalidate the same entries.
 */
import {
  Cached,
  CacheSettings,
  type Dispatcher,
  InvalidationEngine,
  InvalidationRule,
  KeyConstructor,
  KeyField
} from "@cachefx/core"
import type { BrokerJob } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Deferred, type Duration, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { startProxy } from "./FaultProxy.js"
import { sharedUrl } from "./SharedRedis.js"

/** What the contract reads of a dead letter: the same fields in every broker package. */
export type Letter = Pick<BrokerJob.DeadLetter, "job" | "reason" | "deliveries">

/**
 * A broker under test, its layers for one test namespace `ns` (queue names, key
 * prefixes, schemas: nothing another test or test run shares). A module that exports
 * one as `broker` can be run by the contract (`BrokerContract.contract`).
 */
export interface Broker {
  readonly name: string
  /** The dispatcher; a rule's jobs fan out in jobs of 3 rows at most, tried twice in all. */
  readonly dispatcher: (ns: string) => Layer.Layer<Dispatcher.Named<string>, unknown>
  /** A worker that takes an abandoned job back within a few seconds. */
  readonly worker: (ns: string) => Layer.Layer<never, unknown, InvalidationEngine.InvalidationEngine>
  /** The broker's `deadLetters(client, { queue, count })` on the queue of `ns`: newest first, `count` at most. */
  readonly deadLetters: (ns: string, options?: { readonly count?: number | undefined }) => Effect.Effect<ReadonlyArray<Letter>, unknown>
  /** The dispatcher over a broker that does not answer (black-holed, nothing closes), waiting `timeout` for it. */
  readonly unreachable: (timeout: Duration.DurationInput) => Layer.Layer<Dispatcher.Named<string>, unknown>
  /** Removes what the broker kept of the namespaces a test file used (its queues, its schema), after them all. */
  readonly cleanup?: (namespaces: ReadonlyArray<string>) => Effect.Effect<void, unknown>
}

/** The script of a child worker: `node --import tsx brokerWorker.ts <broker module> <namespace>`. */
const workerScript = fileURLToPath(new URL("./brokerWorker.ts", import.meta.url))

/**
 * Starts a worker process (the broker exported by `module`, namespace `ns`) that hangs
 * in every job it takes, killed with SIGKILL when the scope closes: `running` waits for
 * its first job, `started` counts the jobs it has begun.
 */
export const hangingWorker = (module: string, ns: string) =>
  Effect.gen(function*() {
    const running = yield* Deferred.make<void>()
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, ["--conditions=@cachefx/source", "--import", "tsx", workerScript, module, ns], {
          env: { ...process.env, CACHEFX_TEST_HANG: "1" },
          stdio: ["ignore", "pipe", "inherit"]
        })
      ),
      (child) => Effect.sync(() => child.kill("SIGKILL"))
    )
    let started = 0
    child.stdout.on("data", (chunk: Buffer) => {
      const begun = chunk.toString().split("running").length - 1
      started += begun
      if (begun > 0) Deferred.unsafeDone(running, Effect.void)
    })
    return { child, running: Deferred.await(running), started: () => started }
  })

/** A client of the shared Redis, closed with the scope. */
export const client = (options: { readonly maxRetriesPerRequest?: null } = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(sharedUrl, options)),
    (redis) => Effect.promise(() => redis.quit())
  )

/** A client of a Redis that does not answer: nothing listens on port 1, the client keeps reconnecting and queues its commands meanwhile. */
export const unreachableRedis = Effect.acquireRelease(
  Effect.sync(() => new Redis("redis://127.0.0.1:1", { lazyConnect: true }).on("error", () => {})),
  (client) => Effect.sync(() => client.disconnect())
)

/**
 * A fault proxy in front of the server of `url` (`port` when the URL names none), closed
 * with the scope: `url` is the same address through the proxy, and `blackhole` makes the
 * server stop answering (nothing passes, nothing closes) until the scope closes, when
 * it heals first so that the clients through it can close.
 */
export const proxied = (url: string, port: number) =>
  Effect.gen(function*() {
    const target = new URL(url)
    const proxy = yield* Effect.acquireRelease(
      Effect.promise(() => startProxy(Number(target.port || port), target.hostname)),
      (proxy) => Effect.promise(() => proxy.close())
    )
    target.host = `127.0.0.1:${proxy.port}`
    const blackhole = Effect.zipRight(
      Effect.sync(() => proxy.blackhole()),
      Effect.addFinalizer(() => Effect.sync(() => proxy.heal()))
    )
    return { url: target.toString(), blackhole }
  })

/** A child worker blocks in its job until it is killed. */
const hang = process.env["CACHEFX_TEST_HANG"] === "1"

const Users = KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] })

/** The cached value of both processes: a rule per behaviour under test. */
export const users = (dispatcher: string) =>
  Cached.cached({
    key: Users,
    ttl: "1 minute",
    invalidatesOn: [
      InvalidationRule.make({
        table: "users",
        fieldMapping: { id: "id" },
        dispatcher,
        when: () =>
          hang ? Effect.zipRight(Effect.sync(() => process.stdout.write("running\n")), Effect.never) : Effect.succeed(true)
      }),
      InvalidationRule.make({
        table: "accounts",
        fieldMapping: { id: "id" },
        dispatcher,
        name: "always-fails",
        when: () => Effect.dieMessage("the accounts rule always fails")
      })
    ]
  })((input: { readonly id: number }) => Effect.succeed(`user ${input.id}`))

/** The store on the shared Redis, the engine with the broker's dispatcher, and their settings, for namespace `ns`. */
export const engine = (broker: Broker, ns: string, dispatcher = broker.dispatcher(ns)) =>
  InvalidationEngine.layer({ caches: [users(broker.name)] }).pipe(
    Layer.provide(dispatcher),
    Layer.provideMerge(Layer.unwrapScoped(Effect.map(client(), (client) => RedisStore.layer({ client })))),
    Layer.provideMerge(CacheSettings.layer({ keyPrefix: ns, operationTimeout: "2 seconds" }))
  )
