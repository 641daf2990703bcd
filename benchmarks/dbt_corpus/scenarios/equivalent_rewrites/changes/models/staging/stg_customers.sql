with source as (

    {#-
    Normally we would select from the table here, but we are using seeds to load
    our data in this project
    #}
    select * from {{ ref('raw_customers') }}

),

renamed as (

    select
        last_name,
        first_name,  -- reviewers asked for name order
        id as customer_id

    from source

)

select * from renamed
