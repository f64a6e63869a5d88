-- The label of the stream (of the orders table's incarnation) each order's row was projected from: a re-created
-- or restored table starts versions at 1 again on a new stream, and a change from a newer stream outranks every
-- change from an older one (orders_db.stream_records.Revision). '' marks rows projected before this column
-- existed: the next change of a known stream at the same version fills it in.
-- One statement, atomic on both engines (added last, in place on MariaDB 10.11 and Aurora MySQL 3).
ALTER TABLE orders ADD COLUMN stream_epoch VARCHAR(64) CHARACTER SET ascii NOT NULL DEFAULT ''
    COMMENT 'label of the orders stream the row was projected from; empty: unknown'
