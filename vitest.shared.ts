import { defineProject, type UserWorkspaceConfig } from "vitest/config"

/**
 * The export condition under which the workspace packages point at their TypeScript
 * sources. Private to this repository (a consumer's own `source` condition must not
 * compile cachefx from its sources), and the same name in tsconfig.base.json
 * (`customConditions`) and in every `tsx --conditions=` / `node --conditions=` command.
 */
export const sourceCondition = "@cachefx/source"

/**
 * The vitest project of one package: its tests import the workspace packages from
 * their TypeScript sources (the `@cachefx/source` export condition), so no build is needed.
 */
export const project = (name: string, test: UserWorkspaceConfig["test"] = {}) =>
  defineProject({
    resolve: { conditions: [sourceCondition, "import", "default"] },
    ssr: { resolve: { conditions: [sourceCondition, "import", "default"], externalConditions: [sourceCondition] } },
    test: { name, include: ["test/**/*.test.ts"], ...test }
  })
