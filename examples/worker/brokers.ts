/**
 * The brokers the worker example can run on: one entry each, the dispatcher layer (the
 * producer side, named as the entry) and the worker layer (the consumer side). Each
 * opens its own connections (to `REDIS_URL`, or its broker's) and closes them with its
 * scope. Add a broker with one line.
 */
import { BullMQDispatcher, BullMQWorker } from "@cachefx/bullmq"
import type { Dispatcher, InvalidationEngine } from "@cachefx/core"
import { StreamDispatcher, StreamWorker } from "@cachefx/redis"
import { Config, type Layer, Redacted } from "effect"
import { pgBoss } from "./pgboss.js"
import { rabbitmq } from "./rabbitmq.js"

export interface Broker {
  readonly dispatcher: Layer.Layer<Dispatcher.Named<string>, unknown>
  readonly worker: Layer.Layer<never, unknown, InvalidationEngine.InvalidationEngine>
}

/** Where every Redis layer here connects: `REDIS_URL`, by default the local Redis. */
export const redisUrl = Config.redacted("REDIS_URL").pipe(Config.withDefault(Redacted.make("redis://127.0.0.1:6379")))

const bullmq: Broker = {
  dispatcher: BullMQDispatcher.layerConfig({ url: redisUrl }),
  worker: BullMQWorker.layerConfig({ url: redisUrl })
}

const redisStream: Broker = {
  dispatcher: StreamDispatcher.layerConfig({ url: redisUrl }),
  worker: StreamWorker.layerConfig({ url: redisUrl })
}

export const brokers: Record<string, Broker> = {
  bullmq,
  "redis-stream": redisStream,
  "pg-boss": pgBoss,
  rabbitmq
}

/** The broker named by the first argument (default `bullmq`). */
export const chosen = (): readonly [string, Broker] => {
  const name = process.argv[2] ?? "bullmq"
  const broker = brokers[name]
  if (broker === undefined) {
    console.error(`unknown broker "${name}"; one of: ${Object.keys(brokers).join(", ")}`)
    process.exit(2)
  }
  return [name, broker]
}
