/**
 * Where the time of a hit goes: runs one hit loop of ./core.ts or ./redis.ts under V8's
 * sampling profiler (node:inspector, no flag needed) and prints the functions with the most
 * self time, and the same summed by file. `memory`: `cached()` hits on the memory store, one
 * fiber; `redis`: hits on the Redis store, 50 fibers, on a redis-server of its own.
 * `BENCH_PROFILE_MS` (default 5000) of profiled loop, after a warm-up; `BENCH_PROFILE_TOP`
 * (default 25) rows.
 *
 * Run: npm run bench:profile -- memory|redis
 */
import { Cached, CacheStore } from "@cachefx/core"
import { RedisStore } from "@cachefx/redis"
import { Effect } from "effect"
import { Session } from "node:inspector/promises"
import { fiberLoop, fiberWorkers, main } from "./harness.js"
import { type Item, inputs, item, Items } from "./items.js"
import { server } from "./redisServer.js"

const millis = Number(process.env["BENCH_PROFILE_MS"] ?? 5_000)
const top = Number(process.env["BENCH_PROFILE_TOP"] ?? 25)
const keys = inputs()

interface Node {
  readonly callFrame: {
    readonly functionName: string
    readonly scriptId: string
    readonly url: string
    readonly lineNumber: number
    readonly columnNumber: number
  }
  readonly hitCount: number
}

/**
 * The first characters of each function's code, to tell anonymous functions apart: tsx
 * runs the sources transpiled, where a file's code may sit on one line.
 */
type Snippets = ReadonlyMap<string, string>

/** Runs `run` in batches of `batch` operations until `millis` have passed. */
const loopFor = <E, R>(run: (from: number, n: number) => Effect.Effect<void, E, R>, batch: number) =>
  Effect.gen(function*() {
    const end = Date.now() + millis
    let from = 0
    let ops = 0
    while (Date.now() < end) {
      yield* run(from, batch)
      from += batch
      ops += batch
    }
    return ops
  })

const shorten = (url: string) => url.replace(/^file:\/\//, "").replace(/^.*\/(node_modules|packages)\//, "$1/")

/**
 * Prints the rows of most self time: by function, then by file. A row's share is of the
 * samples that found the process busy; its ns per operation is that share of the CPU the
 * process used per operation (on a loaded machine the profiler takes far fewer samples
 * than its interval asks for, so sample counts give shares, not times).
 */
const summarize = (nodes: ReadonlyArray<Node>, cpuNsPerOp: number, snippets: Snippets) => {
  const byFunction = new Map<string, number>()
  const byFile = new Map<string, number>()
  let total = 0
  for (const node of nodes) {
    const { columnNumber, functionName, lineNumber, scriptId, url } = node.callFrame
    if (functionName === "(idle)") {
      continue
    }
    const code = functionName === "" ? ` ${snippets.get(`${scriptId}:${lineNumber}:${columnNumber}`) ?? ""}` : ""
    const name = `${functionName || "(anonymous)"} ${shorten(url)}:${lineNumber + 1}:${columnNumber + 1}${code}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + node.hitCount)
    const file = url === "" ? `(${functionName})` : shorten(url)
    byFile.set(file, (byFile.get(file) ?? 0) + node.hitCount)
    total += node.hitCount
  }
  const print = (title: string, rows: Map<string, number>) => {
    console.log(`\n${title}: % of the busy samples, ns of CPU per operation`)
    for (const [name, hits] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${(100 * hits / total).toFixed(1).padStart(5)}%  ${(cpuNsPerOp * hits / total).toFixed(0).padStart(6)} ns  ${name}`)
    }
  }
  console.log(`${total} busy samples; ${cpuNsPerOp.toFixed(0)} ns of this process's CPU per operation`)
  print("self time by function", byFunction)
  print("self time by file", byFile)
}

const profiled = <E, R>(run: (from: number, n: number) => Effect.Effect<void, E, R>, batch: number) =>
  Effect.gen(function*() {
    yield* run(0, 2 * keys.length) // fills, and warms up
    yield* loopFor(run, batch)
    const session = new Session()
    session.connect()
    const intervalMicros = 50
    yield* Effect.promise(async () => {
      await session.post("Profiler.enable")
      await session.post("Profiler.setSamplingInterval", { interval: intervalMicros })
      await session.post("Profiler.start")
    })
    const cpu = process.cpuUsage()
    const ops = yield* loopFor(run, batch)
    const used = process.cpuUsage(cpu)
    const { profile } = yield* Effect.promise(() => session.post("Profiler.stop"))
    const nodes = profile.nodes as ReadonlyArray<Node>
    const snippets = yield* Effect.promise(async () => {
      await session.post("Debugger.enable")
      const sources = new Map<string, string>()
      const found = new Map<string, string>()
      for (const { callFrame } of nodes) {
        if (callFrame.functionName !== "" || !/packages|bench/.test(callFrame.url)) continue
        if (!sources.has(callFrame.scriptId)) {
          sources.set(callFrame.scriptId, (await session.post("Debugger.getScriptSource", { scriptId: callFrame.scriptId })).scriptSource)
        }
        const line = sources.get(callFrame.scriptId)!.split("\n")[callFrame.lineNumber] ?? ""
        found.set(`${callFrame.scriptId}:${callFrame.lineNumber}:${callFrame.columnNumber}`, JSON.stringify(line.slice(callFrame.columnNumber, callFrame.columnNumber + 70)))
      }
      return found
    })
    session.disconnect()
    summarize(nodes, (used.user + used.system) * 1_000 / ops, snippets)
  })

const getItem = Cached.cached({ key: Items, ttl: "1 hour" })((input: Item) => Effect.succeed(item(input)))
const hit = (i: number) => getItem(keys[i % keys.length]!)

const programs = {
  memory: profiled(fiberLoop(hit), 10_000).pipe(Effect.provide(CacheStore.layerMemory({ capacity: 100_000 }))),
  redis: Effect.gen(function*() {
    const { client } = yield* server
    yield* Effect.provideService(profiled(fiberWorkers(50, hit), 5_000), CacheStore.CacheStore, yield* RedisStore.make({ client }))
  }).pipe(Effect.scoped)
}

const mode = process.argv[2] === "redis" ? "redis" : "memory"
main(`cachefx ${mode} hit under the CPU profiler`, programs[mode])
