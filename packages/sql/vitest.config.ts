import { project } from "../../vitest.shared.js"

export default project("sql", { testTimeout: 30_000 })
