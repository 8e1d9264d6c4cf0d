import { CacheStore as ConsumerCacheStore } from "@cachefx/core"
import { HttpApp as ConsumerHttpApp } from "@effect/platform"

// Serves the snippet's router from a web handler on the memory store: a miss, then a hit.
const consumerApp = ConsumerHttpApp.toWebHandlerLayer(router, ConsumerCacheStore.layerMemory())
const consumerFirst = await consumerApp.handler(new Request("http://localhost/users/1"))
const consumerSecond = await consumerApp.handler(new Request("http://localhost/users/1"))
const consumerStatuses = [consumerFirst.headers.get("x-cache-status"), consumerSecond.headers.get("x-cache-status")]
const consumerBody: unknown = await consumerSecond.json()
if (consumerStatuses.join() !== "MISS,HIT" || JSON.stringify(consumerBody) !== `{"id":"1"}`) {
  throw new Error(`http: expected MISS then HIT with {"id":"1"}, got ${consumerStatuses.join()} ${JSON.stringify(consumerBody)}`)
}
console.log("http:", consumerStatuses, consumerBody)
await consumerApp.dispose()
