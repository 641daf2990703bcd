select
    customer_id,
    email,
    country
from raw_customers
