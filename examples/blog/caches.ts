/**
 * The blog's three cached reads and the writes that invalidate them:
 *
 * - an author's posts, a cached HTTP response partitioned by the `:authorId` path
 *   parameter, wiped (inline) by any write to a post of that author;
 * - one post, a cached value rewarmed on the `pool` dispatcher when its row changes;
 * - an author's stats (published and draft counts), wiped by a custom invalidator only
 *   when a write can change them: an insert, a delete, or an update of a post's
 *   `published` flag or author.
 */
import { Cached, InvalidationRule, KeyConstructor, KeyField, Ttl } from "@cachefx/core"
import { RequestKeyField, ResponseCache } from "@cachefx/http"
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { asc, count, eq } from "drizzle-orm"
import { Effect, Option, Schema } from "effect"
import { read } from "./database.js"
import { Post, posts } from "./schema.js"

export const authorId = Effect.map(
  HttpRouter.schemaPathParams(Schema.Struct({ authorId: Schema.NumberFromString })),
  (params) => params.authorId
)

/** GET /authors/:authorId/posts, every query variant in the author's partition. */
export const authorPosts = ResponseCache.cached({
  key: KeyConstructor.make({
    namespace: "author-posts",
    fields: [RequestKeyField.pathParams(["authorId"], { partition: true }), RequestKeyField.query("*", { hash: true })]
  }),
  ttl: "10 minutes",
  headers: true,
  invalidatesOn: [InvalidationRule.make({ table: posts, fieldMapping: { authorId: posts.authorId } })]
})(Effect.gen(function*() {
  const id = yield* authorId
  const rows = yield* read((db) => db.select().from(posts).where(eq(posts.authorId, id)).orderBy(asc(posts.id)))
  return yield* HttpServerResponse.json(rows)
}))

/** One post by id; a write to its row recomputes it in the background (deletes only delete). */
export const getPost = Cached.cached({
  key: KeyConstructor.make({ namespace: "post", fields: [KeyField.arg("postId")] }),
  value: Schema.NullOr(Post),
  ttl: (post) => post === null ? Ttl.none : Ttl.minutes(10),
  invalidatesOn: [
    InvalidationRule.make({ table: posts, fieldMapping: { postId: posts.id }, rewarm: true, dispatcher: "pool" })
  ]
})((input: { readonly postId: number }) =>
  read((db) => db.select().from(posts).where(eq(posts.id, input.postId))).pipe(
    Effect.map((rows) => rows[0] ?? null)
  )
)

export const Stats = Schema.Struct({ authorId: Schema.Number, published: Schema.Number, drafts: Schema.Number })

/** The columns the stats depend on. */
const statsColumns = ["author_id", "published"]

/** Whether a change can move the counts: only an update that provably leaves both columns alone cannot. */
const movesStats = (change: InvalidationRule.Change): boolean => {
  if (change.event.operation !== "update") {
    return true
  }
  return Option.match(change.changed, {
    onSome: (changed) => statsColumns.some((column) => changed.includes(column)),
    // the hooks read the old row: compare what both rows carry (a column they lack may have changed)
    onNone: () =>
      statsColumns.some((column) =>
        !Option.exists(
          Option.all([change.before, change.row]),
          ([before, after]) => column in before && column in after && before[column] === after[column]
        )
      )
  })
}

/** Wipes the stats of the post's author, before and after the write; the whole namespace when a row lacks it. */
const wipeStats: InvalidationRule.Invalidator = (change, cached) => {
  if (!movesStats(change)) {
    return Effect.void
  }
  const ids = [...Option.toArray(change.before), ...Option.toArray(change.row)].map((row) => row["author_id"])
  return ids.length === 0 || ids.includes(undefined)
    ? cached.invalidateAll
    : Effect.forEach(new Set(ids), (id) => cached.deletePartition({ authorId: id }), { discard: true })
}

/** GET /authors/:authorId/stats: counts of published posts and drafts. */
export const authorStats = Cached.cached({
  key: KeyConstructor.make({ namespace: "author-stats", fields: [KeyField.arg("authorId", { partition: true })] }),
  value: Stats,
  ttl: "10 minutes",
  invalidatesOn: [InvalidationRule.custom({ table: posts, name: "posts(stats)", run: wipeStats })]
})((input: { readonly authorId: number }) =>
  read((db) =>
    db.select({ published: posts.published, n: count() }).from(posts).where(eq(posts.authorId, input.authorId))
      .groupBy(posts.published)
  ).pipe(Effect.map((rows) => ({
    authorId: input.authorId,
    published: rows.find((row) => row.published)?.n ?? 0,
    drafts: rows.find((row) => !row.published)?.n ?? 0
  })))
)

/** Every cached value, for the engine and the hooks. */
export const caches = [authorPosts.cache, getPost, authorStats]
