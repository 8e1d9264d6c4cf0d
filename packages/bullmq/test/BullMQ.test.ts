import { fileURLToPath } from "node:url"
import { contract } from "../../redis/test/BrokerContract.js"
import { broker } from "./bullmqBroker.js"

contract(broker, fileURLToPath(new URL("./bullmqBroker.ts", import.meta.url)))
