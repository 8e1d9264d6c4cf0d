/**
 * The figures of the READMEs, written from the same run as docs/benchmarks.md: every
 * README holds its bench figures between
 *
 *   <!-- bench:report runs=redis,tiers -->
 *   <!-- /bench:report -->
 *
 * and `npm run bench:report` replaces what lies between with a table of the figures of
 * those runs (a run id, or a family prefix: `wipe`), with the date, commit and load of
 * the run. `targets` after the run ids keeps only the figures that have a target.
 * So no README can quote a ratio that another run, day or machine gave.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { RunFigure } from "./charts.js"
import { figureTable } from "./markdown.js"

/** Where a block's figures came from: one line above its table. */
export interface Provenance {
  readonly startedAt: Date
  readonly revision: string
  readonly loadAverage: string
  readonly cores: number
}

const block = /<!-- bench:report ([^>]*?) -->[\s\S]*?<!-- \/bench:report -->/g

const selectorOf = (spec: string) => {
  const words = spec.trim().split(/\s+/)
  const runs = (words.find((word) => word.startsWith("runs="))?.slice("runs=".length) ?? "").split(",").filter((id) => id !== "")
  if (runs.length === 0) {
    throw new Error(`bench:report block "${spec}" names no runs (runs=id,id)`)
  }
  const targetsOnly = words.includes("targets")
  return (figure: RunFigure) =>
    runs.some((id) => figure.run === id || figure.run.startsWith(`${id}-`)) && (!targetsOnly || figure.target !== undefined)
}

/** The text of `markdown` with every bench:report block filled from `figures`. */
export const fillBlocks = (markdown: string, figures: ReadonlyArray<RunFigure>, from: Provenance, link: string): string =>
  markdown.replace(block, (_, spec: string) => {
    const selected = figures.filter(selectorOf(spec))
    return [
      `<!-- bench:report ${spec} -->`,
      `From \`npm run bench:report\` on ${from.startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC, commit ${from.revision},`,
      `load average at start ${from.loadAverage} on ${from.cores} cores (the whole run: [${link}](${link})).`,
      "",
      ...(selected.length === 0 ? ["(no figures: these runs failed or were not selected)"] : figureTable(selected)),
      "<!-- /bench:report -->"
    ].join("\n")
  })

/** The root README and every package's, relative to the repository's root. */
const readmes = (root: string): ReadonlyArray<{ readonly file: string; readonly link: string }> => [
  { file: join(root, "README.md"), link: "docs/benchmarks.md" },
  ...readdirSync(join(root, "packages")).map((dir) => ({
    file: join(root, "packages", dir, "README.md"),
    link: "../../docs/benchmarks.md"
  }))
]

/** Fills the blocks of every README; gives the files it changed. */
export const writeReadmes = (root: string, figures: ReadonlyArray<RunFigure>, from: Provenance): ReadonlyArray<string> =>
  readmes(root).flatMap(({ file, link }) => {
    let text: string
    try {
      text = readFileSync(file, "utf8")
    } catch {
      return []
    }
    const filled = fillBlocks(text, figures, from, link)
    if (filled === text) {
      return []
    }
    writeFileSync(file, filled)
    return [file]
  })

/** The figures of the last report and where they came from, kept beside docs/benchmarks.md. */
export interface Saved extends Omit<Provenance, "startedAt"> {
  readonly startedAt: string
  readonly figures: ReadonlyArray<RunFigure>
}

/** Writes what `writeReadmes` needs to run again without rerunning the benchmarks. */
export const save = (file: string, figures: ReadonlyArray<RunFigure>, from: Provenance): void =>
  writeFileSync(file, JSON.stringify({ ...from, startedAt: from.startedAt.toISOString(), figures }, null, 1) + "\n")

/** Reads what `save` wrote. */
export const load = (file: string): { readonly figures: ReadonlyArray<RunFigure>; readonly from: Provenance } => {
  const saved = JSON.parse(readFileSync(file, "utf8")) as Saved
  return { figures: saved.figures, from: { ...saved, startedAt: new Date(saved.startedAt) } }
}
