-- An experiment database as schema version 1 wrote it (before wall times,
-- artifact sizes, notes, tags, system info and writer identity). The store
-- tests build a database from this script and check that opening it migrates
-- forward and keeps every row. Run 1 finished; run 2 was left "running" by a
-- writer that died long ago (its heartbeat is stale).
PRAGMA user_version = 1;
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  dataset TEXT NOT NULL DEFAULT '',
  parameters TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL,
  created REAL NOT NULL,
  started REAL NOT NULL DEFAULT 0,
  ended REAL NOT NULL DEFAULT 0,
  heartbeat REAL NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '');
CREATE TABLE metrics (
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL);
CREATE INDEX metrics_run ON metrics(run_id);
CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL DEFAULT '');

INSERT INTO runs (id, kind, name, model, dataset, parameters, status, created, started, ended, heartbeat, error_message)
VALUES (1, 'classify', 'sst2 baseline', 'models/bert-tiny', 'data/sst2', '{"lr":0.0001,"epochs":3}', 'ok',
        1700000000.0, 1700000001.0, 1700000900.0, 1700000900.0, '');
INSERT INTO runs (id, kind, name, model, dataset, parameters, status, created, started, ended, heartbeat, error_message)
VALUES (2, 'causal-lm', 'gpt2 tiny', 'models/gpt2-tiny', 'data/tinystories', '{"lr":0.0003}', 'running',
        1700001000.0, 1700001001.0, 0, 1700001500.0, '');

INSERT INTO metrics VALUES (1, 0, 'train/loss', 0.69);
INSERT INTO metrics VALUES (1, 100, 'train/loss', 0.41);
INSERT INTO metrics VALUES (1, 200, 'train/loss', 0.25);
INSERT INTO metrics VALUES (1, 200, 'eval/accuracy', 0.875);
INSERT INTO metrics VALUES (2, 0, 'train/loss', 10.5);
INSERT INTO metrics VALUES (2, 50, 'train/loss', 6.25);

INSERT INTO artifacts (run_id, kind, path, sha256) VALUES
  (1, 'checkpoint/best', 'runs/1/best.safetensors', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
