import { afterAll, describe } from "@effect/vitest"
import { previousVersionsSuite } from "../../core/test/PreviousVersionsSuite.js"
import { cleanup, layerAt, sharedUrl } from "./redis.js"

// on a Cluster: RedisStore.test.ts, beside the contract suite
describe("RedisStore", () => {
  const namespace = `versions-${process.pid}-${Date.now()}`
  afterAll(() => cleanup(namespace))
  previousVersionsSuite(`redis (${sharedUrl})`, layerAt(sharedUrl), namespace)
})
