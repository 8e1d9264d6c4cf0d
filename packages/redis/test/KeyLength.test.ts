import { afterAll, describe } from "@effect/vitest"
import { keyLengthSuite } from "../../core/test/KeyLengthSuite.js"
import { cleanup, layerAt, sharedUrl } from "./redis.js"

describe("RedisStore", () => {
  const namespace = `long-${process.pid}-${Date.now()}`
  afterAll(() => cleanup(namespace))
  keyLengthSuite(`redis (${sharedUrl})`, layerAt(sharedUrl), namespace)
})
