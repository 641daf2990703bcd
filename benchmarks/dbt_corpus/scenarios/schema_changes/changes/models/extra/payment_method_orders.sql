-- written for the datacanary corpus (not part of jaffle_shop_duckdb)
select payment_method, count(distinct order_id) as orders
from {{ ref('stg_payments') }}
group by payment_method
