-- itemsSalesReport, pre-aggregated over the orders that count (status orderCreated), one row per item with
-- a non-zero total, read in item_id order (keyset pagination on the primary key).
CREATE TABLE IF NOT EXISTS item_totals (
    item_id VARBINARY(256) NOT NULL,
    total_ordered BIGINT NOT NULL,
    last_order_date DATE NOT NULL COMMENT 'UTC date of the latest order that counts',
    PRIMARY KEY (item_id),
    CONSTRAINT item_totals_not_negative CHECK (total_ordered >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
