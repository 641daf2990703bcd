select
    customer_id,
    country
from raw_customers
