-- The lines of each order in their original order (an item may appear twice). `counted` and the copied
-- `order_date` let an item's latest counted order date be found with one step on an index, however long
-- the item's history, when a cancellation removes the order that held it.
CREATE TABLE IF NOT EXISTS order_lines (
    order_id VARBINARY(256) NOT NULL,
    line_no SMALLINT UNSIGNED NOT NULL,
    item_id VARBINARY(256) NOT NULL,
    quantity INT UNSIGNED NOT NULL,
    order_date DATETIME(3) NOT NULL COMMENT 'UTC, the order''s date',
    counted TINYINT(1) NOT NULL COMMENT '1 while the order counts in the sales totals (status orderCreated)',
    PRIMARY KEY (order_id, line_no),
    KEY order_lines_item_counted_date (item_id, counted, order_date),
    CONSTRAINT order_lines_order FOREIGN KEY (order_id) REFERENCES orders (order_id),
    CONSTRAINT order_lines_quantity CHECK (quantity BETWEEN 1 AND 10000),
    CONSTRAINT order_lines_counted CHECK (counted IN (0, 1))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
