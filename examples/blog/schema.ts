/**
 * The blog's tables, the shape of a post as the API answers it, and the statements that
 * create and seed them (in the connection's current schema).
 */
import { sql } from "drizzle-orm"
import { boolean, integer, type PgDatabase, type PgQueryResultHKT, pgTable, serial, text } from "drizzle-orm/pg-core"
import { Schema } from "effect"

export const authors = pgTable("authors", { id: integer("id").primaryKey(), name: text("name").notNull() })

export const posts = pgTable("posts", {
  id: serial("id").primaryKey(),
  authorId: integer("author_id").notNull(),
  title: text("title").notNull(),
  published: boolean("published").notNull()
})

/** Any PostgreSQL Drizzle database: PGlite in process, or node-postgres. */
export type BlogDatabase = PgDatabase<PgQueryResultHKT>

export const Post = Schema.Struct({
  id: Schema.Number,
  authorId: Schema.Number,
  title: Schema.String,
  published: Schema.Boolean
})

/** Creates the tables when missing and seeds two authors and three posts into an empty blog. */
export const setup = async (db: BlogDatabase): Promise<void> => {
  await db.execute(sql`create table if not exists authors (id integer primary key, name text not null)`)
  await db.execute(sql`create table if not exists posts (
    id serial primary key,
    author_id integer not null references authors (id),
    title text not null,
    published boolean not null
  )`)
  await db.insert(authors).values([{ id: 1, name: "Ada" }, { id: 2, name: "Grace" }]).onConflictDoNothing()
  const [existing] = await db.select({ id: posts.id }).from(posts).limit(1)
  if (existing === undefined) {
    await db.insert(posts).values([
      { authorId: 1, title: "Notes on the engine", published: true },
      { authorId: 1, title: "Bernoulli numbers (draft)", published: false },
      { authorId: 2, title: "Compilers", published: true }
    ])
  }
}
