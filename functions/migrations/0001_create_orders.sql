-- One row per order: the newest state the projector applied, and its `version` (the command side's item
-- version), so that a duplicate or older stream record changes nothing. A deleted order stays as a tombstone
-- (status 'removed', no lines) so that an older version delivered later cannot bring it back.
-- Ids are VARBINARY holding UTF-8: compared byte for byte, which the utf8mb4 collations common to Aurora
-- MySQL 3 and MariaDB are not (they ignore trailing spaces); 256 bytes hold any 64 characters.
CREATE TABLE IF NOT EXISTS orders (
    order_id VARBINARY(256) NOT NULL,
    version INT UNSIGNED NOT NULL,
    status VARCHAR(16) CHARACTER SET ascii NOT NULL,
    order_date DATETIME(3) NOT NULL COMMENT 'UTC',
    PRIMARY KEY (order_id),
    CONSTRAINT orders_status CHECK (status IN ('orderCreated', 'orderCancelled', 'removed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
