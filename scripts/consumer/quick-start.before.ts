// What the Quick start leaves to its reader: the database read.
const loadPostsFromDb = (input: { readonly authorId: number; readonly page: number }) =>
  Effect.succeed([{ authorId: input.authorId, page: input.page, title: "hello" }])
