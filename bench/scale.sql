-- The scale run's data (bench/run.py --scale), on top of seed.sql's: 10,000 users,
-- 1,000,000 posts, about 2,000,000 votes, and one post that every user voted for.
-- Generated in the database, a few set-based statements. The trigram index of titles is
-- dropped first and rebuilt after (timed on its own): maintaining it row by row would
-- make the seeding several times slower than building it once.
\set ON_ERROR_STOP on

DROP INDEX IF EXISTS ix_posts_title_trgm;

BEGIN;

INSERT INTO users (email, password, created_at)
SELECT format('user%s@example.com', n),
       (SELECT password FROM users WHERE id = 1),
       now() - make_interval(days => 1000)
FROM generate_series(1001, 10000) AS n;

INSERT INTO posts (title, content, published, created_at, owner_id)
SELECT format('Post %s: %s', n, left(md5(n::text) || md5((n + 1)::text), 10 + n % 30)),
       rtrim(repeat(md5(n::text) || ' ', 2 + n % 14)),
       n % 20 <> 0,
       now() - make_interval(secs => 1000000 - n),
       1 + (n * 7) % 10000
FROM generate_series(10001, 1000000) AS n
ORDER BY n;

-- The new posts' ids run on from wherever the sequence was (the load runs used some).
SELECT max(id) - 989999 AS first_new FROM posts \gset

-- Each user votes 195 times among the new posts: 104729 is prime to 990000, so no pair
-- repeats. Then every user votes for one post in the middle.
INSERT INTO votes (user_id, post_id)
SELECT u, :first_new + (u * 7919 + k * 104729) % 990000
FROM generate_series(1, 10000) AS u, generate_series(1, 195) AS k;
INSERT INTO votes (user_id, post_id)
SELECT u, :first_new + 490000 FROM generate_series(1, 10000) AS u
ON CONFLICT DO NOTHING;

COMMIT;

SELECT (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM posts) AS posts,
       (SELECT count(*) FROM votes) AS votes;
