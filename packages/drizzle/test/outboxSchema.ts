import { integer, pgSchema, text } from "drizzle-orm/pg-core"

/** The tables of the outbox test, in a PostgreSQL schema of their own. */
export const schemaName = "cachefx_drizzle_outbox"
export const outboxTable = `${schemaName}.outbox`

export const posts = pgSchema(schemaName).table("posts", {
  id: integer("id").primaryKey(),
  authorId: integer("author_id").notNull(),
  title: text("title").notNull()
})
