import { sql as consumerSql } from "drizzle-orm"
import { drizzle as consumerDrizzle } from "drizzle-orm/node-postgres"

// The table the snippet reads, in the schema DATABASE_URL puts first on the search path.
const consumerSchema = process.env.CONSUMER_SCHEMA!
const consumerSetup = consumerDrizzle(process.env.DATABASE_URL!)
await consumerSetup.execute(consumerSql.raw(`create schema if not exists ${consumerSchema}`))
await consumerSetup.execute(consumerSql.raw(`drop table if exists ${consumerSchema}.posts`))
await consumerSetup.execute(
  consumerSql.raw(`create table ${consumerSchema}.posts (id integer primary key, author_id integer not null, title text not null)`)
)
await consumerSetup.execute(consumerSql.raw(`insert into ${consumerSchema}.posts values (3, 1, 'old')`))
