/**
 * The packaging conventions of every workspace package (issue 21), checked on the
 * package.json files themselves, so that a package added later follows them too:
 * explicit public exports under the private `@cachefx/source` condition, `main`/`types`,
 * `engines`, `repository`, a LICENSE, no build state in the tarball (`files`), peers mirrored as
 * devDependencies. `scripts/consumer-test.sh` checks the tarballs these produce.
 */
import { describe, expect, it } from "@effect/vitest"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../../", import.meta.url))

interface Manifest {
  readonly name: string
  readonly private?: boolean
  readonly license?: string
  readonly main?: string
  readonly types?: string
  readonly engines?: { readonly node?: string }
  readonly repository?: { readonly type: string; readonly url: string; readonly directory: string }
  readonly exports?: Readonly<Record<string, unknown>>
  readonly files?: ReadonlyArray<string>
  readonly bin?: Readonly<Record<string, string>>
  readonly peerDependencies?: Readonly<Record<string, string>>
  readonly dependencies?: Readonly<Record<string, string>>
  readonly devDependencies?: Readonly<Record<string, string>>
}

const read = (path: string): string => readFileSync(`${root}${path}`, "utf8")

const packages = readdirSync(`${root}packages`)
  .filter((dir) => existsSync(`${root}packages/${dir}/package.json`))
  .map((dir) => ({ dir, manifest: JSON.parse(read(`packages/${dir}/package.json`)) as Manifest }))

const published = packages.filter(({ manifest }) => manifest.private !== true)

/** The public modules of a package: `src/<Name>.ts`, one concept each (not `index.ts`, `bin.ts`, `internal/`). */
const publicModules = (dir: string): ReadonlyArray<string> =>
  readdirSync(`${root}packages/${dir}/src`).filter((file) => /^[A-Z]\w*\.ts$/.test(file)).map((file) => file.slice(0, -3))
    .sort()

const entry = (module: string) => ({
  "@cachefx/source": `./src/${module}.ts`,
  types: `./dist/${module}.d.ts`,
  default: `./dist/${module}.js`
})

/** The clients and frameworks an application passes in or shares: peers, never dependencies. */
const sharedLibraries = [
  "effect",
  "@effect/platform",
  "@effect/platform-node",
  "@effect/cli",
  "ioredis",
  "bullmq",
  "amqplib",
  "pg",
  "pg-boss",
  "drizzle-orm",
  "@nats-io/transport-node"
]

describe("packaging", () => {
  it.each(published.map(({ dir }) => dir))("%s exports its public modules only, each under @cachefx/source", (dir) => {
    const { manifest } = packages.find((pkg) => pkg.dir === dir)!
    const expected: Record<string, unknown> = { ".": entry("index") }
    for (const module of publicModules(dir)) {
      expected[`./${module}`] = entry(module)
    }
    expected["./package.json"] = "./package.json"
    expect(manifest.exports).toEqual(expected)
    // the key order decides which condition wins: the sources only under the private condition, first
    for (const value of Object.values(manifest.exports ?? {})) {
      if (typeof value === "object" && value !== null) {
        expect(Object.keys(value)).toEqual(["@cachefx/source", "types", "default"])
      }
    }
  })

  it.each(published.map(({ dir }) => dir))("%s has main, types, engines, repository, a LICENSE and clean files", (dir) => {
    const { manifest } = packages.find((pkg) => pkg.dir === dir)!
    expect(manifest).toMatchObject({
      license: "MIT",
      main: "./dist/index.js",
      types: "./dist/index.d.ts",
      repository: { type: "git", url: "git+https://github.com/cachefx/cachefx.git", directory: `packages/${dir}` }
    })
    expect(manifest.engines?.node).toMatch(/^>=20(\.\d+\.\d+)?$/)
    expect(read(`packages/${dir}/LICENSE`)).toBe(read("LICENSE"))
    // the build state stays in dist (deleting dist then rebuilds it) and is left out of the tarball
    expect(manifest.files).toEqual(expect.arrayContaining(["dist", "!dist/**/*.tsbuildinfo", "src", "LICENSE"]))
    for (const target of Object.values(manifest.bin ?? {})) {
      // npm links a bin at install time only when its file exists: never one under dist/
      expect(existsSync(`${root}packages/${dir}/${target}`)).toBe(true)
    }
  })

  it.each(published.map(({ dir }) => dir))("%s takes the libraries an application shares as peers, mirrored in devDependencies", (dir) => {
    const { manifest } = packages.find((pkg) => pkg.dir === dir)!
    expect(Object.keys(manifest.dependencies ?? {}).filter((name) => sharedLibraries.includes(name))).toEqual([])
    for (const [name, range] of Object.entries(manifest.peerDependencies ?? {})) {
      if (!name.startsWith("@cachefx/")) {
        expect([name, manifest.devDependencies?.[name]]).toEqual([name, range])
      }
    }
  })

  it("uses the private condition everywhere: no bare `source` condition left in configs and commands", () => {
    expect(JSON.parse(read("tsconfig.base.json")).compilerOptions.customConditions).toEqual(["@cachefx/source"])
    expect(read("vitest.shared.ts")).toContain(`sourceCondition = "@cachefx/source"`)
    const scripts: Record<string, string> = JSON.parse(read("package.json")).scripts
    expect(Object.values(scripts).filter((script) => /--conditions[= ]source\b/.test(script))).toEqual([])
    for (const { dir } of packages) {
      const files = ["test", "src"].flatMap((sub) =>
        existsSync(`${root}packages/${dir}/${sub}`)
          ? readdirSync(`${root}packages/${dir}/${sub}`, { recursive: true }).map((file) => `packages/${dir}/${sub}/${String(file)}`)
          : []
      ).filter((file) => file.endsWith(".ts"))
      for (const file of files) {
        expect([file, /--conditions[= ]source\b|"--conditions",\s*"source"/.test(read(file))]).toEqual([file, false])
      }
    }
  })
})
