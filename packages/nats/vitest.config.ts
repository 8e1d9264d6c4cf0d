import { project } from "../../vitest.shared.js"

export default project("nats", { testTimeout: 20_000 })
