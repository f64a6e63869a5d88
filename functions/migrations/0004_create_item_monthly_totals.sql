-- monthlySalesByItem, pre-aggregated per item and UTC month over the orders that count, one row per
-- non-zero month, read newest first on the primary key.
CREATE TABLE IF NOT EXISTS item_monthly_totals (
    item_id VARBINARY(256) NOT NULL,
    order_month DATE NOT NULL COMMENT 'first day of the UTC month',
    total_ordered BIGINT NOT NULL,
    PRIMARY KEY (item_id, order_month),
    CONSTRAINT item_monthly_totals_month CHECK (DAYOFMONTH(order_month) = 1),
    CONSTRAINT item_monthly_totals_not_negative CHECK (total_ordered >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
