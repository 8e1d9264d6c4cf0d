import { HttpServerResponse as ConsumerResponse } from "@effect/platform"
import { integer as consumerInteger, pgTable as consumerPgTable } from "drizzle-orm/pg-core"

// What the snippet leaves to its reader: the table its rule names, and the handler's read.
const users = consumerPgTable("users", { id: consumerInteger("id").primaryKey() })
const loadUser = (id: string | undefined) => ConsumerResponse.json({ id })
