-- One row per run of an operations tool over the orders table (ops/: rebuild, reconcile), so that a rebuild
-- stopped halfway is continued by the next one instead of started again. Written only by the operations' user.
CREATE TABLE IF NOT EXISTS ops_runs (
    run_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
    operation VARCHAR(16) CHARACTER SET ascii NOT NULL,
    table_name VARCHAR(255) CHARACTER SET ascii NOT NULL,
    stream_epoch VARCHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'the epoch given to the items read from the table',
    total_segments INT UNSIGNED NOT NULL,
    options TEXT CHARACTER SET utf8mb4 NOT NULL COMMENT 'JSON: the options the run was started with',
    estimated_orders BIGINT UNSIGNED NOT NULL COMMENT 'the table''s item count (updated by DynamoDB every few hours)',
    started_at DATETIME(3) NOT NULL COMMENT 'UTC',
    finished_at DATETIME(3) NULL COMMENT 'UTC; NULL while the run is unfinished',
    outcome VARCHAR(16) CHARACTER SET ascii NULL COMMENT 'succeeded or abandoned, once finished',
    summary TEXT CHARACTER SET utf8mb4 NULL COMMENT 'JSON: the final summary',
    PRIMARY KEY (run_id),
    KEY ops_runs_unfinished (operation, table_name, finished_at),
    CONSTRAINT ops_runs_segments CHECK (total_segments BETWEEN 1 AND 1000),
    CONSTRAINT ops_runs_outcome CHECK (outcome IN ('succeeded', 'abandoned'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
