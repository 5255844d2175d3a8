-- An experiment database as schema version 2 wrote it (metric wall times,
-- NULL = NaN values, artifact sizes, notes, tags, system info; no writer
-- identity yet). Opening it must migrate to the current version and keep
-- every row. Run 1 diverged (a NaN loss); run 2 is "running" with a stale heartbeat.
PRAGMA user_version = 2;
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
CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL DEFAULT '',
  bytes INTEGER NOT NULL DEFAULT 0);
CREATE INDEX artifacts_run ON artifacts(run_id);
CREATE TABLE metric_points (
  run_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL,
  wall_time REAL NOT NULL DEFAULT 0);
CREATE INDEX metric_points_run_name ON metric_points(run_id, name);
CREATE TABLE run_notes (run_id INTEGER PRIMARY KEY, notes TEXT NOT NULL DEFAULT '');
CREATE TABLE run_tags (run_id INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (run_id, tag));
CREATE TABLE system_info (
  run_id INTEGER PRIMARY KEY,
  host TEXT NOT NULL DEFAULT '',
  cpu TEXT NOT NULL DEFAULT '',
  gpu TEXT NOT NULL DEFAULT '',
  driver TEXT NOT NULL DEFAULT '',
  build TEXT NOT NULL DEFAULT '');

INSERT INTO runs (id, kind, name, model, dataset, parameters, status, created, started, ended, heartbeat, error_message)
VALUES (1, 'ner', 'conll tiny', 'models/bert-tiny', 'data/conll', '{"lr":0.001}', 'failed',
        1710000000.0, 1710000001.0, 1710000300.0, 1710000300.0, 'loss became NaN at step 20');
INSERT INTO runs (id, kind, name, model, dataset, parameters, status, created, started, ended, heartbeat, error_message)
VALUES (2, 'prompt', 'p-tuning sst2', 'models/gpt2-tiny', 'data/sst2', '{"n_virtual":20}', 'running',
        1710001000.0, 1710001001.0, 0, 1710001100.0, '');

INSERT INTO metric_points VALUES (1, 0, 'train/loss', 2.5, 1710000010.0);
INSERT INTO metric_points VALUES (1, 10, 'train/loss', 1.75, 1710000100.0);
INSERT INTO metric_points VALUES (1, 20, 'train/loss', NULL, 1710000200.0);
INSERT INTO metric_points VALUES (2, 0, 'train/loss', 3.0, 1710001010.0);

INSERT INTO artifacts (run_id, kind, path, sha256, bytes) VALUES (1, 'report', 'runs/1/report.json', '', 1234);
INSERT INTO run_notes VALUES (1, 'lr too high');
INSERT INTO run_tags VALUES (1, 'baseline');
INSERT INTO run_tags VALUES (1, 'ner');
INSERT INTO system_info VALUES (1, 'lab-1', 'Xeon', 'NVIDIA H100', '580.1', 'v0.0.9');
