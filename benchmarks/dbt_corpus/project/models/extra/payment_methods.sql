-- written for the datacanary corpus (not part of jaffle_shop_duckdb)
select
    payment_method,
    count(*) as payments,
    sum(amount) as total_amount,
    ifnull(avg(amount), 0) as avg_amount,
    sum(case when amount > 0 then 1 else 0 end)::int as paid_payments
from {{ ref('stg_payments') }}
group by payment_method
