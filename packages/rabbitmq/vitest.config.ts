import { project } from "../../vitest.shared.js"

export default project("rabbitmq", { testTimeout: 20_000 })
