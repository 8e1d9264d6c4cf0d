import { defineProject, type UserWorkspaceConfig } from "vitest/config"

/**
 * The vitest project of one package: its tests import the workspace packages from
 * their TypeScript sources (the `source` export condition), so no build is needed.
 */
export const project = (name: string, test: UserWorkspaceConfig["test"] = {}) =>
  defineProject({
    resolve: { conditions: ["source", "import", "default"] },
    ssr: { resolve: { conditions: ["source", "import", "default"], externalConditions: ["source"] } },
    test: { name, include: ["test/**/*.test.ts"], ...test }
  })
