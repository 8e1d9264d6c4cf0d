// Runs the snippet's program: a read, a write through the instrumented database, a read.
await Effect.runPromise(program)
const consumerTitles = await plain.select({ title: posts.title }).from(posts)
if (consumerTitles[0]?.title !== "new") {
  throw new Error(`drizzle: expected the new title, got ${JSON.stringify(consumerTitles)}`)
}
console.log("drizzle:", consumerTitles)
await consumerSetup.execute(consumerSql.raw(`drop schema ${consumerSchema} cascade`))
await consumerSetup.$client.end()
await plain.$client.end()
