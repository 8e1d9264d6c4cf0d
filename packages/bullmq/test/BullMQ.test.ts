import { fileURLToPath } from "node:url"
import { contract } from "@cachefx/testkit/BrokerContract"
import { broker } from "./bullmqBroker.js"

contract(broker, fileURLToPath(new URL("./bullmqBroker.ts", import.meta.url)))
