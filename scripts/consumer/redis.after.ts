// Runs the snippet's program on the Redis of REDIS_URL (keys under CACHEFX_KEY_PREFIX),
// twice: a miss, then a hit. The snippet's other clients (a cluster that does not
// exist among them) keep reconnecting, so the process exits here.
const consumerFirst = await Effect.runPromise(program)
const consumerSecond = await Effect.runPromise(program)
if (consumerFirst.id !== 7 || consumerSecond.id !== 7) {
  throw new Error(`redis: expected the post 7, got ${JSON.stringify([consumerFirst, consumerSecond])}`)
}
console.log("redis:", consumerSecond)
process.exit(0)
