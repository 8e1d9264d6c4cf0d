import { afterAll } from "@effect/vitest"
import { CacheStore } from "@cachefx/core"
import { Layer } from "effect"
import { Redis } from "ioredis"
import { isolationSuite } from "../../core/test/IsolationSuite.js"
import { RedisStore, RedisSync } from "../src/index.js"
import { cleanup, layerAt, sharedUrl, TestSettings } from "./redis.js"

const marker = `isolation-${process.pid}-${Date.now()}`
const client = new Redis(sharedUrl)
afterAll(async () => {
  await cleanup(marker)
  await client.quit()
})

isolationSuite(`redis (${sharedUrl})`, layerAt(sharedUrl), `${marker}-redis`)
isolationSuite(
  "tiered (memory over Redis)",
  CacheStore.layerTiered({ l1: CacheStore.makeMemory({ capacity: 100 }), l2: RedisStore.make({ client }) }).pipe(
    Layer.provide(RedisSync.layer({ client, channel: `${marker}:sync` })),
    Layer.provide(TestSettings)
  ),
  `${marker}-tiered`
)
