-- written for the datacanary corpus (not part of jaffle_shop_duckdb)
with shares as (

    select
        customer_id,
        number_of_orders,
        coalesce(customer_lifetime_value, 1) / sum(customer_lifetime_value) over () as value_share
    from {{ ref('customers') }}

)

select customer_id, number_of_orders, value_share, 1 - value_share
from shares
