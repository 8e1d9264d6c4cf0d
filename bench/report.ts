/**
 * Runs every benchmark (./report/runs.ts), each as a child process with `BENCH_JSON` set,
 * and writes docs/benchmarks.md with a table per chart and SVG charts in docs/benchmarks/.
 * A run that fails or outlasts `BENCH_REPORT_TIMEOUT` seconds (default 300) is reported
 * as failed; the others still are.
 *
 * Run: npm run bench:report
 */
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chartOf, charts, type RunFigure } from "./report/charts.js"
import { describeMachine, loadAverage } from "./report/machine.js"
import { renderMarkdown, type RunOutcome } from "./report/markdown.js"
import { save, writeReadmes } from "./report/readmes.js"
import { type Run, runs } from "./report/runs.js"
import { renderChart } from "./report/svg.js"
import { parseFigures } from "./results.js"

const docs = new URL("../docs/", import.meta.url).pathname
const timeoutSeconds = Number(process.env["BENCH_REPORT_TIMEOUT"] ?? 300)

/** Runs one benchmark in its own process group (killed whole on timeout); its stdout goes to ours. */
const execute = (run: Run, jsonFile: string): Promise<RunOutcome> =>
  new Promise((resolve) => {
    const started = Date.now()
    const load = loadAverage()
    console.log(`\n== ${run.id}: ${run.title}`)
    const child = spawn("npx", ["tsx", `bench/${run.script}.ts`], {
      env: { ...process.env, ...run.env, BENCH_JSON: jsonFile },
      stdio: ["ignore", "inherit", "pipe"],
      detached: true
    })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk)
      stderr = (stderr + chunk.toString()).slice(-2_000)
    })
    const timer = setTimeout(() => {
      stderr += `\ntimed out after ${timeoutSeconds} s`
      process.kill(-child.pid!, "SIGKILL")
    }, timeoutSeconds * 1_000)
    child.on("close", (exitCode) => {
      clearTimeout(timer)
      const figures = (() => {
        try {
          return parseFigures(readFileSync(jsonFile, "utf8"))
        } catch {
          return []
        }
      })()
      resolve({ run, seconds: (Date.now() - started) / 1_000, loadAverage: load, exitCode, errorTail: stderr.trim(), figures })
    })
  })

const main = async () => {
  const startedAt = new Date()
  const machine = await describeMachine()
  console.log(`benchmark report on ${machine.cpu} × ${machine.cores}, load average ${machine.loadAverage}`)
  const scratch = mkdtempSync(join(tmpdir(), "cachefx-bench-"))
  const outcomes: Array<RunOutcome> = []
  for (const run of runs) {
    outcomes.push(await execute(run, join(scratch, `${run.id}.jsonl`)))
  }
  rmSync(scratch, { recursive: true, force: true })

  const figures: Array<RunFigure> = outcomes.flatMap(({ figures, run }) =>
    figures.map((figure) => ({ ...figure, run: run.id, runTitle: run.title }))
  )
  mkdirSync(join(docs, "benchmarks"), { recursive: true })
  const rendered = charts.flatMap((spec) => {
    const chart = chartOf(spec, figures)
    if (chart === undefined) {
      return []
    }
    writeFileSync(join(docs, "benchmarks", `${spec.file}.svg`), renderChart(chart))
    return [{ spec, figures: figures.filter(spec.select) }]
  })
  writeFileSync(
    join(docs, "benchmarks.md"),
    renderMarkdown({ startedAt, machine, loadAverageAtEnd: loadAverage(), outcomes, charts: rendered, figures })
  )
  const provenance = { startedAt, revision: machine.revision, loadAverage: machine.loadAverage, cores: machine.cores }
  save(join(docs, "benchmarks", "figures.json"), figures, provenance)
  const readmes = writeReadmes(new URL("..", import.meta.url).pathname, figures, provenance)
  const failed = outcomes.filter((outcome) => outcome.exitCode !== 0).map((outcome) => outcome.run.id)
  console.log(`\nwrote docs/benchmarks.md, ${rendered.length} charts and ${readmes.length} READMEs${failed.length > 0 ? `; failed: ${failed.join(", ")}` : ""}`)
  process.exitCode = failed.length > 0 ? 1 : 0
}

main()
