-- Hybrid search in SQLite: vector similarity from libemb next to an FTS5
-- keyword match, fused in one SELECT (reciprocal rank fusion).
-- Run from the project root after `make`:
--
--     sqlite3 < examples/sqlite_hybrid.sql
--
-- With a real model, register it instead of the built-in demo model, e.g.
-- emb_model('mini', 'e5-small-v2.h5').
.bail on
SELECT load_extension('lib/libemb_sqlite');
SELECT 'model dim: ' || emb_model('mini', 'models/wordnet-mini.h5');

CREATE TABLE passages(id INTEGER PRIMARY KEY, text TEXT NOT NULL, embedding BLOB);
CREATE VIRTUAL TABLE passages_fts USING fts5(text, content='passages', content_rowid='id');

INSERT INTO passages(text) VALUES
  ('The Eiffel Tower is a wrought-iron tower in Paris, built for the 1889 World''s Fair.'),
  ('Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make their own food.'),
  ('The heart is a muscular organ that pumps blood through the body.'),
  ('A violin is a string instrument played with a bow.'),
  ('A volcano is a mountain that erupts lava, ash and gas from inside the earth.'),
  ('Bread is baked from a dough of flour, water and yeast.'),
  ('The moon orbits the earth about once every 27 days.'),
  ('A bicycle is a vehicle with two wheels that a person rides by pushing pedals.'),
  ('Elephants are large grey animals with a long trunk and big ears.'),
  ('Python is a programming language known for its readable syntax.');

-- store one vector per passage (a BLOB of little-endian float32), and index
-- the words for FTS5
UPDATE passages SET embedding = emb_embed('mini', text, 'passage');
INSERT INTO passages_fts(passages_fts) VALUES ('rebuild');

-- 1. semantic search: rank every passage by cosine to the question. The
--    question's vector is computed once (emb_embed is deterministic).
SELECT '-- semantic';
SELECT printf('%.4f', emb_cosine(embedding, emb_embed('mini', 'How do plants make food?', 'query'))) AS score,
       text
FROM passages
ORDER BY emb_cosine(embedding, emb_embed('mini', 'How do plants make food?', 'query')) DESC
LIMIT 3;

-- 2. hybrid: the semantic rank and the FTS5 (BM25) rank of the keywords,
--    fused as sum(1 / (60 + rank)); passages without a keyword hit keep
--    their semantic share.
SELECT '-- hybrid';
WITH
semantic AS (
  SELECT id, row_number() OVER (
           ORDER BY emb_cosine(embedding, emb_embed('mini', 'How do plants make food?', 'query')) DESC) AS r
  FROM passages),
keyword AS (
  SELECT rowid AS id, row_number() OVER (ORDER BY rank) AS r
  FROM passages_fts WHERE passages_fts MATCH 'plants OR food OR bread')
SELECT printf('%.4f', 1.0 / (60 + semantic.r) + coalesce(1.0 / (60 + keyword.r), 0)) AS score,
       semantic.r AS semantic_rank, keyword.r AS keyword_rank, passages.text
FROM semantic
JOIN passages USING (id)
LEFT JOIN keyword USING (id)
ORDER BY 1.0 / (60 + semantic.r) + coalesce(1.0 / (60 + keyword.r), 0) DESC
LIMIT 3;
