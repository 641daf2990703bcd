-- written for the datacanary corpus (not part of jaffle_shop_duckdb)
select
    ordered_on,
    status,
    count(*) as orders
from {{ ref('stg_orders') }}
where status <> 'returned'
group by ordered_on, status
