-- Realistic data for the benchmark, in a few set-based statements (well under a second):
-- 1,000 users, 10,000 posts of varied length, 50,000 votes skewed towards recent posts.
-- Run by bench/run.py with psql on a freshly migrated, empty database, so ids start at 1.
-- psql variables: password_hash (a valid argon2 hash; every user gets it).
\set ON_ERROR_STOP on

BEGIN;

-- User 1 is the one the benchmark logs in as.
INSERT INTO users (email, password, created_at)
SELECT CASE n WHEN 1 THEN 'bench@example.com' ELSE format('user%s@example.com', n) END,
       :'password_hash',
       now() - make_interval(days => 1000 - n)
FROM generate_series(1, 1000) AS n
ORDER BY n;

-- Titles of 20-50 characters, content of 70-500; one post in twenty is a draft.
INSERT INTO posts (title, content, published, created_at, owner_id)
SELECT format('Post %s: %s', n, left(md5(n::text) || md5((n + 1)::text), 10 + n % 30)),
       rtrim(repeat(md5(n::text) || ' ', 2 + n % 14)),
       n % 20 <> 0,
       now() - make_interval(mins => 10000 - n),
       1 + (n * 7) % 1000
FROM generate_series(1, 10000) AS n
ORDER BY n;

-- Each user votes 50 times: 25 times among the newest 1,000 posts (about 25 votes each),
-- 25 times among the 9,000 older ones (about 3 each). The formulas never repeat a pair.
INSERT INTO votes (user_id, post_id)
SELECT u, CASE WHEN k <= 25 THEN 9001 + (u * 37 + k * 39) % 1000
               ELSE 1 + (u * 37 + k * 199) % 9000 END
FROM generate_series(1, 1000) AS u, generate_series(1, 50) AS k;

COMMIT;

VACUUM ANALYZE users, posts, votes;

SELECT (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM posts) AS posts,
       (SELECT count(*) FROM votes) AS votes,
       (SELECT max(id) FROM posts) AS last_post_id;
