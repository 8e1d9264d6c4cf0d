/**
 * The one harness of every bench/ file.
 *
 * A case runs `n` operations in a loop and is timed around the whole loop: a plain
 * `for` loop in one `Effect.gen` for Effect code (`fiberLoop`), a plain `async` loop for
 * code that is not Effect (`asyncLoop`), and the same with `workers` concurrent loops
 * (`fiberWorkers`, `asyncWorkers`). Nothing runs per operation but the operation itself:
 * no schedule, no clock, no counter that both sides would pay.
 *
 * `measure` calibrates each case so that one sample takes about `BENCH_SAMPLE_MS`
 * (default 300 ms), then runs `BENCH_ROUNDS` rounds (default 7, at least 5): every
 * round runs every case once, starting from a different case each round, so a burst of
 * other work on the machine lands on all of them. `compare` then gives, for each
 * comparison, the median and the spread (min–max) of both sides and of the per-round
 * ratio, prints them, records them for the report (./results.ts) and prints whether the
 * target of the bench file is met.
 *
 * Cases of builds that must not share a process (two builds of cachefx) run in processes
 * of their own: each `serve`s its cases, calibrated there, and the parent interleaves
 * them round by round with `remote` and `measureRemote`, so that each process times its
 * own samples while the machine's bursts of other work land on every process alike.
 *
 * Every `npm run bench*` script builds the packages first and runs them from `dist/`, as
 * an application runs them: tsx, which runs the sources, names every closure it makes
 * (esbuild's `keepNames`), a cost that compiled code does not pay and that lands on
 * cachefx's side only (its sources are transpiled, the peers' packages are not).
 */
import { Effect, Queue, type Scope } from "effect"
import { fork } from "node:child_process"
import * as os from "node:os"
import { record } from "./results.js"

/** Rounds of every `measure` (`BENCH_ROUNDS`, at least 5). */
export const rounds = Math.max(5, Number(process.env["BENCH_ROUNDS"] ?? 7))

/** The length one sample of a case is calibrated to, in ms (`BENCH_SAMPLE_MS`). */
export const sampleMillis = Number(process.env["BENCH_SAMPLE_MS"] ?? 300)

/** Median of a list of numbers. */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Runs operations `from` to `from + n - 1` and completes when all of them have. */
export type Run<E, R> = (from: number, n: number) => Effect.Effect<void, E, R>

/** `n` operations, one after the other, in a plain loop of one fiber. */
export const fiberLoop = <E, R>(op: (i: number) => Effect.Effect<unknown, E, R>): Run<E, R> => (from, n) =>
  Effect.gen(function*() {
    for (let i = from; i < from + n; i++) {
      yield* op(i)
    }
  })

/** `n` operations over `workers` concurrent fibers, each a plain loop. */
export const fiberWorkers = <E, R>(workers: number, op: (i: number) => Effect.Effect<unknown, E, R>): Run<E, R> =>
(from, n) =>
  Effect.all(
    Array.from({ length: Math.min(workers, n) }, (_, worker) =>
      Effect.gen(function*() {
        for (let i = from + worker; i < from + n; i += workers) {
          yield* op(i)
        }
      })),
    { concurrency: "unbounded", discard: true }
  )

/** `n` operations, one after the other, in a plain `async` loop (no Effect per operation). */
export const asyncLoop = (op: (i: number) => PromiseLike<unknown>): Run<never, never> => (from, n) =>
  Effect.promise(async () => {
    for (let i = from; i < from + n; i++) {
      await op(i)
    }
  })

/** `n` operations over `workers` concurrent plain `async` loops. */
export const asyncWorkers = (workers: number, op: (i: number) => PromiseLike<unknown>): Run<never, never> =>
(from, n) =>
  Effect.promise(() =>
    Promise.all(Array.from({ length: Math.min(workers, n) }, async (_, worker) => {
      for (let i = from + worker; i < from + n; i += workers) {
        await op(i)
      }
    }))
  )

/**
 * Something measured around a sample besides time and this process's CPU: `start` is run
 * just before the sample and gives the effect that reads the amount used since; the
 * harness divides it by the operations of the sample.
 */
export interface Meter<R = never> {
  readonly name: string
  readonly unit: string
  readonly start: Effect.Effect<Effect.Effect<number, never, R>, never, R>
}

/** A meter over a number this process keeps (a count of computations, say). */
export const counter = (name: string, unit: string, read: () => number): Meter => ({
  name,
  unit,
  start: Effect.sync(() => {
    const before = read()
    return Effect.sync(() => read() - before)
  })
})

/** One way of doing the work that a comparison sets beside another. */
export interface Case<E = never, R = never> {
  readonly name: string
  readonly run: Run<E, R>
  /** Operations per sample; calibrated to `sampleMillis` when not given. */
  readonly ops?: number
  /** The fewest operations per sample when calibrated (for a case whose time per sample has a fixed part). */
  readonly minOps?: number
  /** Operations run once before calibration, not timed (e.g. to fill every key a hit reads); default 0. */
  readonly warmUp?: number
  /** Run before each sample, not timed (e.g. to load what the sample deletes). */
  readonly prepare?: (from: number, n: number) => Effect.Effect<void, E, R>
  readonly meters?: ReadonlyArray<Meter<R>>
}

/** One sample of a case: per operation, ns of wall time, ns of this process's CPU, and each meter. */
export interface Sample {
  readonly ns: number
  readonly cpuNs: number
  readonly meters: Readonly<Record<string, number>>
}

/** The samples of every case, by name, one per round in round order. */
export type Samples = ReadonlyMap<string, ReadonlyArray<Sample>>

const sampleOf = <E, R>(c: Case<E, R>, from: number, n: number): Effect.Effect<Sample, E, R> =>
  Effect.gen(function*() {
    if (c.prepare !== undefined) {
      yield* c.prepare(from, n)
    }
    const stops: Array<readonly [string, Effect.Effect<number, never, R>]> = []
    for (const meter of c.meters ?? []) {
      stops.push([meter.name, yield* meter.start])
    }
    const run = c.run(from, n)
    const cpu = process.cpuUsage()
    const start = process.hrtime.bigint()
    yield* run
    const ns = Number(process.hrtime.bigint() - start)
    const used = process.cpuUsage(cpu)
    const meters: Record<string, number> = {}
    for (const [name, stop] of stops) {
      meters[name] = (yield* stop) / n
    }
    return { ns: ns / n, cpuNs: ((used.user + used.system) * 1_000) / n, meters }
  })

/**
 * Operations per sample for `c`: grows from one until a run is long enough to scale from,
 * scales, then rescales from the faster of two runs of that many (a stall of the
 * machine during one run would otherwise leave samples too short).
 */
const calibrate = <E, R>(c: Case<E, R>, next: () => number, advance: (n: number) => void) =>
  Effect.gen(function*() {
    const timed = (n: number) =>
      Effect.gen(function*() {
        const start = process.hrtime.bigint()
        yield* c.run(next(), n)
        advance(n)
        return Math.max(Number(process.hrtime.bigint() - start) / 1e6, 0.001)
      })
    let n = 1
    for (let ms = yield* timed(n); ms < sampleMillis / 10 && n < 1 << 24; ms = yield* timed(n)) {
      n *= ms < sampleMillis / 100 ? 8 : 2
    }
    n = Math.max(1, Math.round(n * sampleMillis / (yield* timed(n))))
    const fastest = Math.min(yield* timed(n), yield* timed(n))
    return Math.max(1, Math.round(n * sampleMillis / fastest))
  })

/**
 * Warms up and calibrates `cases`; gives each case's next sample (calibration is the
 * warm-up) and the operations per sample, by name.
 */
const prepared = <E, R>(cases: ReadonlyArray<Case<E, R>>) =>
  Effect.gen(function*() {
    const next = new Map(cases.map((c) => [c.name, 0]))
    const from = (c: Case<E, R>) => next.get(c.name)!
    const advance = (c: Case<E, R>) => (n: number) => next.set(c.name, from(c) + n)
    const ops = new Map<string, number>()
    for (const c of cases) {
      if (c.warmUp !== undefined) {
        yield* c.run(from(c), c.warmUp)
        advance(c)(c.warmUp)
      }
      if (c.ops === undefined) {
        ops.set(c.name, Math.max(c.minOps ?? 1, yield* calibrate(c, () => from(c), advance(c))))
      } else {
        ops.set(c.name, c.ops)
        yield* sampleOf(c, from(c), c.ops) // warm-up
        advance(c)(c.ops)
      }
    }
    const sample = (c: Case<E, R>) => {
      const n = ops.get(c.name)!
      return Effect.tap(Effect.suspend(() => sampleOf(c, from(c), n)), () => advance(c)(n))
    }
    return { sample, ops }
  })

/**
 * `count` interleaved rounds of the cases `sample` measures, by index: each case once a
 * round, starting from a different case each round.
 */
const interleave = <E, R>(
  names: ReadonlyArray<string>,
  sample: (index: number) => Effect.Effect<Sample, E, R>,
  count: number
): Effect.Effect<Map<string, Array<Sample>>, E, R> =>
  Effect.gen(function*() {
    const samples = new Map(names.map((name): [string, Array<Sample>] => [name, []]))
    for (let round = 0; round < count; round++) {
      for (let k = 0; k < names.length; k++) {
        const index = (round + k) % names.length
        samples.get(names[index]!)!.push(yield* sample(index))
      }
    }
    return samples
  })

/**
 * Runs `cases` in `rounds` interleaved rounds, each case once a round, starting from a
 * different case each round. Calibration is the warm-up.
 */
export const measure = <E, R>(cases: ReadonlyArray<Case<E, R>>): Effect.Effect<Samples, E, R> =>
  Effect.gen(function*() {
    const { ops, sample } = yield* prepared(cases)
    const samples = yield* interleave(cases.map((c) => c.name), (index) => sample(cases[index]!), rounds)
    console.log(
      `  ${rounds} rounds; operations per sample: ${cases.map((c) => `${c.name} ${ops.get(c.name)}`).join(", ")}`
    )
    return samples
  })

/** A case that a process of its own measures (see `serve`): one sample each time it is asked. */
export interface RemoteCase {
  readonly name: string
  readonly sample: Effect.Effect<Sample, Error>
}

type Request = { readonly sample: string }
type Reply = { readonly ready: Readonly<Record<string, number>> } | { readonly sample: Sample }

/**
 * Serves `cases` to the process that forked this one (`remote`): warms up and calibrates
 * them here, then runs one sample of a case each time the parent asks, so that the parent
 * can interleave the cases of several processes round by round, each process timing its
 * own samples (its own wall and CPU time).
 */
export const serve = <E, R>(cases: ReadonlyArray<Case<E, R>>): Effect.Effect<void, E, R> =>
  Effect.gen(function*() {
    const { ops, sample } = yield* prepared(cases)
    const byName = new Map(cases.map((c) => [c.name, c]))
    // the parent's requests, in order; `undefined` once it has disconnected
    const requests = yield* Queue.unbounded<Request | undefined>()
    process.on("message", (request: Request) => Queue.unsafeOffer(requests, request))
    process.on("disconnect", () => Queue.unsafeOffer(requests, undefined))
    process.send!({ ready: Object.fromEntries(ops) } satisfies Reply)
    for (let request = yield* Queue.take(requests); request !== undefined; request = yield* Queue.take(requests)) {
      const c = byName.get(request.sample)
      if (c === undefined) {
        return yield* Effect.dieMessage(`asked for a case this process does not have: ${request.sample}`)
      }
      process.send!({ sample: yield* sample(c) } satisfies Reply)
    }
  })

/**
 * The cases of a process forked from `file` with `env`, which calls `serve`: ready once
 * it has calibrated them; the process ends with the scope.
 */
export const remote = (file: string, env: NodeJS.ProcessEnv): Effect.Effect<ReadonlyArray<RemoteCase>, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => fork(file, [], { env, stdio: ["ignore", "inherit", "inherit", "ipc"] })),
      (child) => Effect.sync(() => child.disconnect())
    )
    const reply = Effect.async<Reply, Error>((resume) => {
      const onMessage = (message: Reply) => {
        child.off("exit", onExit)
        resume(Effect.succeed(message))
      }
      const onExit = (code: number | null) => {
        child.off("message", onMessage)
        resume(Effect.fail(new Error(`the process measuring ${file} exited with ${code}`)))
      }
      child.once("message", onMessage)
      child.once("exit", onExit)
    })
    const ready = yield* reply
    if (!("ready" in ready)) {
      return yield* Effect.fail(new Error("the measuring process answered before it was ready"))
    }
    const sample = (name: string) =>
      Effect.suspend(() => {
        child.send({ sample: name } satisfies Request)
        return Effect.flatMap(reply, (answer) =>
          "sample" in answer ? Effect.succeed(answer.sample) : Effect.fail(new Error("the measuring process did not send a sample")))
      })
    return Object.keys(ready.ready).map((name): RemoteCase => ({ name, sample: sample(name) }))
  })

/**
 * `count` interleaved rounds of cases measured in other processes (`remote`): a burst of
 * other work on the machine lands on every process alike, while each keeps the compiled
 * code and heap of its own.
 */
export const measureRemote = (
  cases: ReadonlyArray<RemoteCase>,
  count: number
): Effect.Effect<Map<string, Array<Sample>>, Error> =>
  interleave(cases.map((c) => c.name), (index) => cases[index]!.sample, count)

/** What a comparison reads from a sample, in the unit it prints. */
export type Quantity =
  | { readonly of: "time"; readonly unit: "ns" | "µs" | "ms" }
  | { readonly of: "rate"; readonly unit?: string }
  | { readonly of: "cpu"; readonly unit: "ns" | "µs" }
  | { readonly of: "meter"; readonly meter: string; readonly unit: string }
  /** A meter's amount per second of the sample (requests a load generator made, say). */
  | { readonly of: "meter rate"; readonly meter: string; readonly unit: string }

const scale = { ns: 1, µs: 1e3, ms: 1e6 } as const

const valueOf = (quantity: Quantity, sample: Sample): number => {
  switch (quantity.of) {
    case "time":
      return sample.ns / scale[quantity.unit]
    case "rate":
      return 1e9 / sample.ns
    case "cpu":
      return sample.cpuNs / scale[quantity.unit]
    case "meter":
      return sample.meters[quantity.meter] ?? Number.NaN
    case "meter rate":
      return (sample.meters[quantity.meter] ?? Number.NaN) * 1e9 / sample.ns
  }
}

const unitOf = (quantity: Quantity): string =>
  quantity.of === "rate" ? quantity.unit ?? "ops/s" : quantity.of === "cpu" ? `${quantity.unit} CPU/op` : quantity.of === "time" ? `${quantity.unit}/op` : quantity.unit

/** Two cases set side by side, and the target of their ratio (`subject / baseline`) if there is one. */
export interface Comparison {
  readonly name: string
  readonly subject: string
  readonly baseline: string
  readonly quantity: Quantity
  /** On the ratio: "≤ 1.5×", "≥ 0.6×", "≥ 1000× faster" (on baseline / subject); on the subject's median: "≤ 1". */
  readonly target?: string
}

/** A figure as people read it: whole numbers with separators, three digits when small. */
export const formatValue = (value: number): string =>
  Math.abs(value) >= 100 ? Math.round(value).toLocaleString("en-US") : value.toPrecision(3)

/** `subject / baseline` as a factor; far below 1 it reads as "1/N" (N times less). */
export const formatRatio = (ratio: number): string =>
  Number.isNaN(ratio) ? "—" : ratio < 0.1 ? `1/${formatValue(1 / ratio)}` : `${ratio.toFixed(2)}×`

/** Median and spread, "median (min–max)". */
export const spread = (values: ReadonlyArray<number>, format: (value: number) => string = formatValue): string =>
  `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`

/**
 * Whether a comparison meets its target: "≤ 2×", "≥ 0.8×" on the ratio, "≥ 1000× faster"
 * on baseline / subject, "≤ 1" (no ×) on the subject's own median; undefined for a target
 * of another form.
 */
export const meetsTarget = (ratio: number, target: string, subject = Number.NaN): boolean | undefined => {
  const match = target.match(/^(≤|≥) ([\d.]+)(×)?( faster)?$/)
  if (match === null) {
    return undefined
  }
  const value = match[3] === undefined ? subject : match[4] === undefined ? ratio : 1 / ratio
  return match[1] === "≤" ? value <= Number(match[2]) : value >= Number(match[2])
}

const verdicts: Array<string> = []

/** Comparisons of `cases` against the baseline case: wall time, then CPU time, per operation. */
export const against = (baseline: string, cases: ReadonlyArray<{ readonly name: string; readonly target?: string }>) =>
  cases.flatMap((c): ReadonlyArray<Comparison> => [
    { name: c.name, subject: c.name, baseline, quantity: { of: "time", unit: "µs" }, ...(c.target === undefined ? {} : { target: c.target }) },
    { name: `  CPU: ${c.name}`, subject: c.name, baseline, quantity: { of: "cpu", unit: "µs" } }
  ])

/** Prints and records each comparison over `samples`: both sides and the per-round ratio, median (min–max). */
export const compare = (samples: Samples, comparisons: ReadonlyArray<Comparison>): void => {
  for (const comparison of comparisons) {
    const subject = samples.get(comparison.subject)
    const baseline = samples.get(comparison.baseline)
    if (subject === undefined || baseline === undefined) {
      throw new Error(`comparison "${comparison.name}" names a case that was not measured`)
    }
    const subjects = subject.map((sample) => valueOf(comparison.quantity, sample))
    const baselines = baseline.map((sample) => valueOf(comparison.quantity, sample))
    const ratios = subjects.map((value, round) => value / baselines[round]!)
    const unit = unitOf(comparison.quantity)
    const ratio = median(ratios)
    const met = comparison.target === undefined ? undefined : meetsTarget(ratio, comparison.target, median(subjects))
    const verdict = comparison.target === undefined ? "" : `  target ${comparison.target}: ${met === false ? "MISSED" : met ? "met" : "see above"}`
    console.log(`${comparison.name}`)
    console.log(`    ${comparison.subject}: ${spread(subjects)} ${unit}`)
    console.log(`    ${comparison.baseline}: ${spread(baselines)} ${unit}`)
    console.log(`    ratio ${spread(ratios, formatRatio)}${verdict}`)
    if (comparison.target !== undefined) {
      verdicts.push(`${met === false ? "MISSED" : met ? "met   " : "?     "} ${comparison.name.trim()}: ${formatRatio(ratio)}, ${formatValue(median(subjects))} against ${formatValue(median(baselines))} ${unit} (target ${comparison.target})`)
    }
    record({
      name: comparison.name,
      unit,
      cachefx: median(subjects),
      subjectName: comparison.subject,
      baselineName: comparison.baseline,
      baseline: median(baselines),
      ratio,
      ratioMin: Math.min(...ratios),
      ratioMax: Math.max(...ratios),
      rounds: ratios.length,
      target: comparison.target
    })
  }
}

/** The 1, 5 and 15 minute load averages. */
export const loadAverage = (): string => os.loadavg().map((load) => load.toFixed(2)).join(", ")

/** The machine a figure was measured on. */
export const machine = (): string =>
  `${os.cpus()[0]?.model ?? "unknown cpu"} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`

/**
 * Runs a bench file's program: prints the machine and the load average before and after,
 * and the targets of the file, met or missed, at the end.
 */
export const main = <E>(title: string, program: Effect.Effect<void, E>): void => {
  console.log(`${title}\n  on ${machine()}; load average ${loadAverage()}; ${rounds} rounds of ~${sampleMillis} ms samples`)
  Effect.runPromise(program).then(
    () => {
      console.log(`load average at end ${loadAverage()}`)
      if (verdicts.length > 0) {
        console.log(`targets:\n  ${verdicts.join("\n  ")}`)
      }
    },
    (error) => {
      console.error(error)
      process.exitCode = 1
    }
  )
}
