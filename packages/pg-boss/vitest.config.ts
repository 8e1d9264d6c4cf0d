import { project } from "../../vitest.shared.js"

export default project("pg-boss", { testTimeout: 20_000 })
