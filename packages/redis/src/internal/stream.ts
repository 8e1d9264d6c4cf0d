import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { Cluster, Redis } from "ioredis"
import { hostname } from "node:os"
import { BrokerJob } from "@cachefx/core"
import type * as StreamDispatcher from "../StreamDispatcher.js"
import type * as StreamWorker from "../StreamWorker.js"
import { connect } from "./connection.js"

/** @internal */
export const defaultStream = "{cachefx}:invalidation"


/** The keys of one stream: they share its hash tag, so a Cluster keeps them in one slot. */
const keysOf = (stream: string) => ({ stream, dead: `${stream}:dead`, errors: `${stream}:errors` })

/** The fields of an entry, as a record. */
const fieldsOf = (flat: ReadonlyArray<string>): Record<string, string> => {
  const fields: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) {
    fields[flat[i]!] = flat[i + 1]!
  }
  return fields
}

type Entry = [id: string, fields: Array<string>]

const redis = <A>(operation: string, run: () => Promise<A>): Effect.Effect<A, BrokerJob.BrokerError> =>
  BrokerJob.attempt("Redis Streams", operation, run)

/** @internal */
export const checkDispatcher = (options: Omit<StreamDispatcher.Options, "client">) =>
  BrokerJob.requireWhole("StreamDispatcher", { rowsPerJob: [options.rowsPerJob, 1] })

/** @internal */
export const makeDispatcher = (options: StreamDispatcher.Options) => {
  checkDispatcher(options)
  // nothing to release: the client is the caller's
  return Effect.succeed(BrokerJob.dispatcher({
    name: options.name ?? "redis-stream",
    rowsPerJob: options.rowsPerJob ?? 100,
    timeout: options.timeout ?? BrokerJob.defaults.timeout,
    send: (queue, jobs) => {
      const multi = options.client.multi()
      for (const { text } of jobs) {
        multi.xadd(queue ?? options.queue ?? defaultStream, "*", "job", text)
      }
      return multi.exec()
    }
  }))
}

/** @internal */
export const deadLetters = (client: Redis | Cluster, options: BrokerJob.DeadLetterOptions = {}) => {
  const count = BrokerJob.deadLetterCount(options, "StreamDispatcher.deadLetters")
  const { dead } = keysOf(options.queue ?? defaultStream)
  return redis("deadLetters", () => client.xrevrange(dead, "+", "-", "COUNT", count)).pipe(
    Effect.map((entries) =>
      entries.map(([id, flat]) => {
        const fields = fieldsOf(flat)
        return BrokerJob.deadLetter({
          id: fields["id"] ?? id,
          text: fields["job"] ?? "",
          reason: fields["reason"] ?? "",
          deliveries: Number(fields["deliveries"]),
          failedAt: new Date(Number(fields["failedAt"]))
        })
      })
    )
  )
}

/** Waits (at most 2 seconds) for a new connection to be ready: it may refuse commands until then. */
const ready = (client: Redis | Cluster): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const done = () => resume(Effect.void)
    if (client.status === "ready") {
      return done()
    }
    client.once("ready", done)
    return Effect.sync(() => client.off("ready", done))
  }).pipe(Effect.timeout("2 seconds"), Effect.ignore)

/** An entry taken from the stream: its id, its job's text, and which delivery of it this is. */
interface Taken {
  readonly id: string
  readonly text: string
  readonly deliveries: number
}

const taken = ([id, flat]: Entry, deliveries: number): Taken => ({ id, text: fieldsOf(flat)["job"] ?? "", deliveries })

/** @internal */
export const check = (options: Omit<StreamWorker.Options, "client">) =>
  BrokerJob.requireWhole("StreamWorker", { concurrency: [options.concurrency, 1], attempts: [options.attempts, 1] })

/** @internal */
export const makeWorker = (options: StreamWorker.Options) => {
  check(options)
  return Effect.gen(function*() {
    const { client } = options
    const { dead, errors, stream } = keysOf(options.queue ?? defaultStream)
    const group = options.group ?? "cachefx"
    const consumer = options.consumer ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
    const concurrency = options.concurrency ?? BrokerJob.defaults.concurrency
    const attempts = options.attempts ?? BrokerJob.defaults.attempts
    const visibility = Duration.toMillis(options.visibilityTimeout ?? "30 seconds")
    const block = Math.min(Math.max(Math.floor(visibility / 2), 10), 2_000)

    yield* redis("XGROUP CREATE", () => client.xgroup("CREATE", stream, group, "0", "MKSTREAM")).pipe(
      Effect.catchIf((error) => error.reason.startsWith("BUSYGROUP"), () => Effect.void)
    )
    // XREADGROUP BLOCK holds its connection, so reads go through a connection of their own
    const reader = yield* Effect.acquireRelease(
      Effect.sync(() => client.duplicate() as Redis | Cluster),
      (reader) => Effect.sync(() => reader.disconnect())
    )
    yield* ready(reader)

    const bury = ({ id, text }: Taken, reason: string, deliveries: number) =>
      redis("dead-letter", () =>
        client.multi()
          .xadd(dead, "*", "id", id, "job", text, "reason", reason, "deliveries", deliveries, "failedAt", Date.now())
          .xack(stream, group, id)
          .xdel(stream, id)
          .hdel(errors, id)
          .exec())

    /** Keeps an entry this worker runs from looking abandoned (JUSTID leaves its delivery count alone). */
    const heartbeat = ({ id }: Taken) =>
      redis("XCLAIM", () => client.xclaim(stream, group, consumer, 0, id, "JUSTID")).pipe(
        Effect.ignore,
        Effect.repeat(Schedule.spaced(Duration.millis(Math.max(visibility / 3, 5)))),
        Effect.delay(Duration.millis(Math.max(visibility / 3, 5)))
      )

    // an entry that fails stays pending, with its error, and is delivered again once idle for the visibility timeout
    const worker = yield* BrokerJob.worker<Taken>({
      broker: "Redis Streams",
      job: (entry) => entry.text,
      delivery: (entry) => entry.deliveries,
      attempts: () => attempts,
      annotations: (entry) => ({ stream, entry: entry.id }),
      whileRunning: heartbeat,
      ack: (entries) => {
        const ids = entries.map(({ id }) => id)
        return redis("XACK", () => client.multi().xack(stream, group, ...ids).xdel(stream, ...ids).hdel(errors, ...ids).exec())
      },
      retry: ({ id }, { reason }) => redis("HSET", () => client.hset(errors, id, reason)),
      deadLetter: (entry, { deliveries, reason }) => bury(entry, reason, deliveries)
    })

    const exhausted = (last: string | null) =>
      `not done after ${attempts} deliveries; ${last === null ? "its workers stopped or timed out" : `last error: ${last}`}`

    /** Entries idle past the visibility timeout: failed, or their worker died. Claimed, or buried past `attempts`. */
    const reclaim = Effect.gen(function*() {
      const pending = (yield* redis(
        "XPENDING",
        () => client.xpending(stream, group, "IDLE", visibility, "-", "+", concurrency)
      )) as Array<[string, string, number, number]>
      if (pending.length === 0) {
        return []
      }
      const counts = new Map(pending.map(([id, , , deliveries]) => [id, deliveries + 1]))
      const claimed = (yield* redis(
        "XCLAIM",
        () => client.xclaim(stream, group, consumer, visibility, ...counts.keys())
      )) as Array<Entry>
      const reasons = yield* redis("HMGET", () => client.hmget(errors, ...claimed.map(([id]) => id)))
      const live: Array<Taken> = []
      for (const [i, entry] of claimed.entries()) {
        const deliveries = counts.get(entry[0]) ?? 1
        if (deliveries <= attempts) {
          live.push(taken(entry, deliveries))
        } else {
          const reason = exhausted(reasons[i] ?? null)
          yield* bury(taken(entry, attempts), reason, attempts).pipe(
            Effect.zipRight(Effect.logWarning(`cachefx: invalidation job dead-lettered: ${reason}`)),
            Effect.annotateLogs({ stream, entry: entry[0] })
          )
        }
      }
      return live
    })

    const read = redis(
      "XREADGROUP",
      () => reader.xreadgroup("GROUP", group, consumer, "COUNT", concurrency, "BLOCK", block, "STREAMS", stream, ">")
    ).pipe(
      Effect.map((reply) => ((reply as Array<[string, Array<Entry>]> | null)?.[0]?.[1] ?? []).map((entry) => taken(entry, 1)))
    )

    // a blocking read may be interrupted when the worker closes: what it took is reclaimed after the visibility timeout
    yield* worker.poll({
      receive: Effect.flatMap(reclaim, (claimed) => claimed.length > 0 ? Effect.succeed(claimed) : read),
      retryAfter: "1 second",
      interruptReceive: true
    })
  })
}

/** @internal */
export const dispatcherLayerConfig = BrokerJob.dispatcherLayerConfig<StreamDispatcher.ConfigOptions, StreamDispatcher.Options, "redis-stream">(
  "redis-stream",
  { make: makeDispatcher, check: checkDispatcher, connect: BrokerJob.connectAs("client", connect) }
)

/** @internal */
export const workerLayerConfig = BrokerJob.workerLayerConfig<StreamWorker.ConfigOptions, StreamWorker.Options, BrokerJob.BrokerError>(
  { make: makeWorker, check, connect: BrokerJob.connectAs("client", connect) }
)
