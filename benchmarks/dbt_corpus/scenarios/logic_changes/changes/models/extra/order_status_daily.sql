-- written for the datacanary corpus (not part of jaffle_shop_duckdb)
select
    order_date,
    status,
    count(*) as orders
from {{ ref('stg_orders') }}
where status not in ('returned', 'return_pending')
group by order_date, status
