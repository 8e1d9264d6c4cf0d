// Typechecks every `@example` block of the public modules (packages/*/src, not
// internal/) and every ```ts block of the READMEs (README.md, packages/*/README.md,
// docs/*.md), in one `tsc` run, as a user compiles them: strict, the packages resolved
// through their exports with the workspace's `@cachefx/source` condition.
//
// Each block is a module of its own (so two blocks may both declare `program`). A README
// block that is a fragment (it uses names an earlier block defined, or packages the
// repository does not install) is skipped when the line before its fence is
//   <!-- snippet: skip (why) -->
// Prints each failing block (file:line of the block, then tsc's errors), one line per
// step (the `@example` blocks, the README blocks) and `examples: N passed, N failed`
// counting the steps, as scripts/consumer-test.sh counts its own; exits non-zero when a
// block failed.
// Usage: node scripts/check-examples.mjs
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const out = join(root, "build", "examples-check")
const skipMarker = /^<!--\s*snippet:\s*skip\b/

const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? (entry.name === "internal" ? [] : walk(join(dir, entry.name))) : [join(dir, entry.name)]
  )

/** The ```ts blocks of a doc comment's `@example` sections, with the line each starts on. */
const examplesOf = (file) => {
  const lines = readFileSync(file, "utf8").split("\n")
  const blocks = []
  let inExample = false
  let block
  lines.forEach((raw, index) => {
    const line = raw.replace(/^\s*\* ?/, "")
    if (/^\s*\/\*\*/.test(raw)) inExample = false
    if (line.startsWith("@example")) inExample = true
    else if (line.startsWith("@")) inExample = false
    if (!inExample) return
    if (block === undefined && line.trim() === "```ts") block = { line: index + 2, text: [] }
    else if (block !== undefined && line.trim() === "```") {
      blocks.push({ origin: `${relative(root, file)}:${block.line}`, text: block.text.join("\n") })
      block = undefined
    } else if (block !== undefined) block.text.push(line)
  })
  return blocks
}

/** The ```ts blocks of a markdown file, but those marked as skipped. */
const snippetsOf = (file) => {
  const lines = readFileSync(file, "utf8").split("\n")
  const blocks = []
  let block
  let skipped = 0
  lines.forEach((line, index) => {
    if (block === undefined && line.trim() === "```ts") {
      if (skipMarker.test((lines[index - 1] ?? "").trim())) block = { skip: true }
      else block = { line: index + 2, text: [] }
    } else if (block !== undefined && line.trim() === "```") {
      if (block.skip) skipped++
      else blocks.push({ origin: `${relative(root, file)}:${block.line}`, text: block.text.join("\n") })
      block = undefined
    } else if (block !== undefined && !block.skip) block.text.push(line)
  })
  return { blocks, skipped }
}

const packages = readdirSync(join(root, "packages")).filter((name) => existsSync(join(root, "packages", name, "src")))
const sources = packages.flatMap((name) => walk(join(root, "packages", name, "src"))).filter((file) => file.endsWith(".ts"))
const markdown = [
  join(root, "README.md"),
  ...packages.map((name) => join(root, "packages", name, "README.md")),
  ...readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md")).map((name) => join(root, "docs", name))
].filter(existsSync)

const blocks = sources.flatMap(examplesOf).map((block) => ({ ...block, step: "@example blocks of the public modules" }))
let skipped = 0
for (const file of markdown) {
  const found = snippetsOf(file)
  blocks.push(...found.blocks.map((block) => ({ ...block, step: "```ts blocks of the READMEs and docs" })))
  skipped += found.skipped
}

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const origins = new Map()
blocks.forEach((block, index) => {
  const name = `block${String(index).padStart(4, "0")}.ts`
  origins.set(name, block.origin)
  // `export {}` makes every block a module: its names are its own, and top-level await works
  writeFileSync(join(out, name), `${block.text}\nexport {}\n`)
})
/** Packages installed in one workspace package's own node_modules (not hoisted), e.g. the NATS client. */
const nested = Object.fromEntries(packages.flatMap((name) => {
  const modules = join(root, "packages", name, "node_modules")
  if (!existsSync(modules)) return []
  return readdirSync(modules).filter((entry) => !entry.startsWith(".")).flatMap((entry) =>
    entry.startsWith("@")
      ? readdirSync(join(modules, entry)).map((scoped) => `${entry}/${scoped}`)
      : [entry]
  ).map((dependency) => [dependency, [relative(out, join(modules, dependency))]])
}))
writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify({
    compilerOptions: {
      noEmit: true,
      strict: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: true,
      target: "ES2022",
      lib: ["ES2022", "DOM"],
      module: "ESNext",
      moduleResolution: "Bundler",
      customConditions: ["@cachefx/source"],
      types: ["node"],
      allowImportingTsExtensions: true,
      paths: nested
    },
    include: ["*.ts"]
  })
)

let output = ""
try {
  execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(out, "tsconfig.json")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"]
  })
} catch (error) {
  output = `${error.stdout ?? ""}${error.stderr ?? ""}`
}

const failures = new Map()
for (const line of output.split("\n")) {
  const match = /(block\d+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line)
  if (match === null) continue
  const [, name, row, , message] = match
  const origin = origins.get(name)
  failures.set(origin, [...(failures.get(origin) ?? []), `  line ${row} of the block: ${message}`])
}
if (output !== "" && failures.size === 0) {
  console.log(output)
  failures.set("tsc", ["tsc failed outside the blocks"])
}
for (const [origin, errors] of failures) {
  console.log(`FAIL ${origin}`)
  for (const error of errors) console.log(error)
}
const steps = [...new Set(blocks.map((block) => block.step))].map((step) => {
  const all = blocks.filter((block) => block.step === step)
  const failed = all.filter((block) => failures.has(block.origin)).length
  console.log(`${failed === 0 ? "ok  " : "FAIL"} ${step}: ${all.length - failed} of ${all.length} typecheck`)
  return failed === 0
})
console.log(`(${skipped} README block(s) marked skip)`)
console.log(`examples: ${steps.filter(Boolean).length} passed, ${steps.filter((ok) => !ok).length + (failures.has("tsc") ? 1 : 0)} failed`)
process.exitCode = failures.size === 0 ? 0 : 1
