-- written for the datacanary corpus (not part of jaffle_shop_duckdb)
SELECT
    status,
    order_date,
    COUNT(*) AS orders
FROM {{ ref('stg_orders') }}
where status <> 'returned'
GROUP BY status, order_date
