import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { RedisStore } from "@cachefx/redis"
import { Layer } from "effect"
import { Cluster } from "ioredis"
import { contractSuite } from "../../core/test/CacheStoreContract.js"
import * as keys from "../src/internal/keys.js"
import { cleanup, layerAt, sharedUrl, TestSettings } from "./redis.js"
import { type RedisCluster, startCluster, unavailable } from "./servers.js"

describe("single Redis", () => {
  afterAll(() => cleanup(`contract-${process.pid}-`))
  contractSuite(`redis (${sharedUrl})`, layerAt(sharedUrl))
})

if (unavailable !== undefined) {
  console.warn(`Skipping the Redis Cluster tests: ${unavailable}`)
}

describe.skipIf(unavailable !== undefined)("Redis Cluster of 3 masters (started by the test)", () => {
  let cluster: RedisCluster
  let client: Cluster
  beforeAll(async () => {
    cluster = await startCluster()
    client = new Cluster(cluster.ports.map((port) => ({ host: "127.0.0.1", port })))
    await new Promise((resolve, reject) => client.once("ready", resolve).once("error", reject))
  }, 30_000)
  afterAll(async () => {
    await client?.quit()
    await cluster?.stop()
  })

  contractSuite("redis cluster", Layer.suspend(() => RedisStore.layer({ client })).pipe(Layer.provide(TestSettings)))
})

describe("physical keys", () => {
  const key = (partition: string, suffix: string) => ({ namespace: "ns", partition, key: partition + suffix })

  it("tag the partition, so an entry and its stamp share one hash slot", () => {
    const at = keys.physical(key("cachefx:users:1:#42", ":summary"))
    expect(at).toEqual({
      entry: "{cachefx:users:1:#42}:summary",
      partitionStamp: "{cachefx:users:1:#42}:#!p",
      namespaceStamp: "ns:#!n"
    })
  })

  it("stay distinct when partitions contain braces or percent signs", () => {
    const entries = [
      key("x}:y", ""),
      key("x", ":y}"),
      key("x%7D:y", ""),
      key("x{", ":y")
    ].map((k) => keys.physical(k).entry)
    expect(new Set(entries).size).toBe(entries.length)
    for (const entry of entries) {
      expect(entry.indexOf("}")).toBeGreaterThan(entry.indexOf("{"))
      expect(entry.slice(1, entry.indexOf("}"))).not.toContain("}")
    }
  })
})
