import { project } from "../../vitest.shared.js"

export default project("pg-cdc", { testTimeout: 60_000, hookTimeout: 60_000 })
