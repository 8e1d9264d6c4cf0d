/**
 * cachefx from outside Effect: an Express app whose handlers call cached functions
 * through a `ManagedRuntime`, the one place where the application's layers (the store,
 * the invalidation engine) are built once and disposed of at shutdown. The example
 * starts the app on a free port, makes requests to itself, checks the answers (a miss,
 * a hit, a write that invalidates, a 404 from a typed error) and exits: 0 when every
 * check held, 1 otherwise.
 *
 * Run: npm run example:express
 */
import {
  Cached,
  CacheStore,
  Invalidation,
  InvalidationEngine,
  InvalidationEvent,
  InvalidationRule,
  KeyConstructor,
  KeyField
} from "@cachefx/core"
import { Cause, Data, Effect, Exit, Layer, ManagedRuntime, Option } from "effect"
import express from "express"
import type { AddressInfo } from "node:net"

interface User {
  readonly id: number
  readonly name: string
}

/** The "database": a Map, and how many times it was read. */
const table = new Map<number, User>([[1, { id: 1, name: "Ada" }], [2, { id: 2, name: "Grace" }]])
let reads = 0

class UserNotFound extends Data.TaggedError("UserNotFound")<{ readonly id: number }> {}

/** One user, cached for 5 minutes, invalidated by every write to the users table. */
const getUser = Cached.cached({
  key: KeyConstructor.make({ namespace: "users", fields: [KeyField.arg("id")] }),
  ttl: "5 minutes",
  invalidatesOn: [InvalidationRule.make({ table: "users", fieldMapping: { id: "id" } })]
})((input: { readonly id: number }) =>
  Effect.suspend(() => {
    reads++
    const user = table.get(input.id)
    return user === undefined ? Effect.fail(new UserNotFound({ id: input.id })) : Effect.succeed(user)
  })
)

/** A write: change the row, then publish the event (the engine deletes the stale entry). */
const rename = (id: number, name: string) =>
  Effect.gen(function*() {
    const after = { id, name }
    table.set(id, after)
    yield* Invalidation.publish(InvalidationEvent.make({ table: "users", operation: "update", rows: [after] }))
  })

/** Built once, when the first request runs; disposed of when the server closes. */
const runtime = ManagedRuntime.make(
  InvalidationEngine.layer({ caches: [getUser] }).pipe(Layer.provideMerge(CacheStore.layerMemory({ capacity: 10_000 })))
)

const app = express()
app.use(express.json())

app.get("/users/:id", async (request, response) => {
  const exit = await runtime.runPromiseExit(getUser.withStatus({ id: Number(request.params.id) }))
  if (Exit.isSuccess(exit)) {
    response.set("x-cache", exit.value.status).json(exit.value.value)
    return
  }
  const failure = Cause.failureOption(exit.cause) // the typed error, when the call failed with one
  if (Option.isSome(failure) && failure.value._tag === "UserNotFound") {
    response.status(404).json({ error: `no user ${failure.value.id}` })
  } else {
    response.status(500).json({ error: "internal error" })
  }
})

app.put("/users/:id", async (request, response) => {
  await runtime.runPromise(rename(Number(request.params.id), String(request.body.name)))
  response.status(204).end()
})

/** Requests the app makes to itself, and what each must answer. */
const exercise = async (base: string) => {
  const failures: Array<string> = []
  const check = (what: string, ok: boolean, got: unknown) => {
    console.log(`${ok ? "ok  " : "FAIL"} ${what}: ${JSON.stringify(got)}`)
    if (!ok) failures.push(what)
  }
  const get = async (id: number) => {
    const answer = await fetch(`${base}/users/${id}`)
    return { status: answer.status, cache: answer.headers.get("x-cache"), body: (await answer.json()) as Partial<User> }
  }

  const first = await get(1)
  check("GET /users/1 computes (Miss)", first.status === 200 && first.cache === "Miss" && first.body.name === "Ada", first)
  const second = await get(1)
  check("GET /users/1 again is a Hit, the database untouched", second.cache === "Hit" && reads === 1, { ...second, reads })
  const put = await fetch(`${base}/users/1`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "Ada Lovelace" })
  })
  check("PUT /users/1 renames and invalidates", put.status === 204, put.status)
  const third = await get(1)
  check("GET /users/1 after the write is fresh (Miss)", third.cache === "Miss" && third.body.name === "Ada Lovelace", third)
  const missing = await get(99)
  check("GET /users/99 is a 404 from the typed error", missing.status === 404, missing)
  return failures
}

const server = app.listen(0, "127.0.0.1", async () => {
  const { port } = server.address() as AddressInfo
  console.log(`listening on http://127.0.0.1:${port}`)
  let failures: Array<string> = ["the requests did not complete"]
  try {
    failures = await exercise(`http://127.0.0.1:${port}`)
  } finally {
    server.close()
    await runtime.dispose()
  }
  console.log(failures.length === 0 ? "every check held" : `${failures.length} check(s) failed`)
  process.exitCode = failures.length === 0 ? 0 : 1
})
