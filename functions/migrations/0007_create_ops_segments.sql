-- The checkpoint and counters of each segment of a parallel scan of an ops run: `next_key` is the scan's
-- LastEvaluatedKey after the last page whose orders were handled (JSON; NULL before the first page), so a stopped
-- segment resumes after it. A page is handled again at most once after a crash, which versions make harmless.
CREATE TABLE IF NOT EXISTS ops_segments (
    run_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
    segment INT UNSIGNED NOT NULL,
    next_key TEXT CHARACTER SET utf8mb4 NULL,
    done TINYINT(1) NOT NULL DEFAULT 0,
    scanned BIGINT UNSIGNED NOT NULL DEFAULT 0,
    counts TEXT CHARACTER SET utf8mb4 NOT NULL COMMENT 'JSON: counter name -> count (applied, stale, failed, drift kinds)',
    samples TEXT CHARACTER SET utf8mb4 NOT NULL COMMENT 'JSON: counter name -> the first order ids it counted',
    seconds DOUBLE NOT NULL DEFAULT 0 COMMENT 'time spent on the segment, over every resumption',
    updated_at DATETIME(3) NOT NULL COMMENT 'UTC',
    PRIMARY KEY (run_id, segment),
    CONSTRAINT ops_segments_run FOREIGN KEY (run_id) REFERENCES ops_runs (run_id),
    CONSTRAINT ops_segments_done CHECK (done IN (0, 1))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
