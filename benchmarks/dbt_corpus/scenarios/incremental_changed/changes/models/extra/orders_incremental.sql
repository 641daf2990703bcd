-- written for the datacanary corpus (not part of jaffle_shop_duckdb)
{{ config(materialized='incremental', unique_key='order_id') }}

select order_id, customer_id, order_date, status, status = 'completed' as is_completed
from {{ ref('stg_orders') }}
{% if is_incremental() %}
where order_date >= (select max(order_date) from {{ this }})
{% endif %}
