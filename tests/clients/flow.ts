// What a front end does with the TypeScript client generated from a bake's openapi.json:
// every call goes through the generated SDK, and every answer is read through its types.
import { client } from "./client/client.gen";
import * as api from "./client/sdk.gen";
import type { PostOut } from "./client/types.gen";

function expect(condition: unknown, what: string): asserts condition {
  if (!condition) {
    throw new Error(`${what}: not as expected`);
  }
}

export async function flow(baseUrl: string, say: (line: string) => void): Promise<void> {
  let token: string | undefined;
  client.setConfig({ baseUrl, auth: () => token });
  const email = `ts-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  const password = "a passphrase long enough";

  const signedUp = await api.createUser({ body: { email, password } });
  expect(signedUp.response.status === 201 && signedUp.data?.email === email, "sign up");
  const twice = await api.createUser({ body: { email, password } });
  expect(twice.response.status === 409 && typeof twice.error?.detail === "string", "409 on sign-up");
  say("signed up; 409 for the same email");

  const anonymous = await api.readMe();
  expect(anonymous.response.status === 401 && typeof anonymous.error?.detail === "string", "401");
  const loggedIn = await api.login({ body: { username: email, password } });
  expect(loggedIn.data?.access_token, "login");
  token = loggedIn.data.access_token;
  const me = await api.readMe();
  expect(me.data?.email === email, "the token is sent");
  say("401 without a token; logged in with the form");

  const created: PostOut[] = [];
  for (const title of ["first", "second", "third"]) {
    const post = await api.createPost({ body: { title, content: `${title} post` } });
    expect(post.response.status === 201 && post.data?.title === title, `create ${title}`);
    created.push(post.data);
  }
  const read = await api.readPost({ path: { post_id: created[0].id } });
  expect(read.data?.content === "first post", "read");
  const missing = await api.readPost({ path: { post_id: 9_000_000_000 } });
  expect(missing.response.status === 404 && typeof missing.error?.detail === "string", "404");
  say("created 3 posts, read one; 404 for an unknown post");

  const firstPage = await api.listPosts({ query: { limit: 2 } });
  expect(firstPage.data?.length === 2, "first page");
  const link = firstPage.response.headers.get("link");
  const next = link?.match(/<([^>]+)>;\s*rel="next"/)?.[1];
  expect(next, "a Link to the next page");
  const before = Number(new URL(next, baseUrl).searchParams.get("before"));
  const secondPage = await api.listPosts({ query: { limit: 2, before } });
  expect(secondPage.data && secondPage.data.length > 0, "second page");
  expect(secondPage.data.every((post) => post.id < before), "older posts");
  say(`listed 2 posts, then followed Link to ${secondPage.data.length} more`);

  const updated = await api.updatePost({
    path: { post_id: created[1].id },
    body: { title: "second, edited", content: "edited" },
  });
  expect(updated.data?.title === "second, edited", "update");
  const voted = await api.vote({ body: { post_id: created[1].id, dir: 1 } });
  expect(voted.response.status === 201, "vote");
  const again = await api.vote({ body: { post_id: created[1].id, dir: 1 } });
  expect(again.response.status === 409 && typeof again.error?.detail === "string", "409 on a vote");
  const deleted = await api.deletePost({ path: { post_id: created[2].id } });
  expect(deleted.response.status === 204, "delete");
  const gone = await api.readPost({ path: { post_id: created[2].id } });
  expect(gone.response.status === 404, "deleted");
  say("updated, voted (409 the second time), deleted");
  say("all done");
}
