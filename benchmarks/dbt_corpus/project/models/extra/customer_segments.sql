-- written for the datacanary corpus (not part of jaffle_shop_duckdb)
select
    customer_id,
    case
        when number_of_orders >= 3 then 'loyal'
        when number_of_orders = 2 then 'repeat'
        else 'new'
    end as segment,
    customer_lifetime_value
from {{ ref('customers') }}
where number_of_orders > 0 and customer_lifetime_value > 0
