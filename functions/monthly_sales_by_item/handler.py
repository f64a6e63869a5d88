"""Lambda handler of the monthlySalesByItem query: the query event's detail in, its orderQueryResponse detail out."""

from orders_db.queries import monthly_sales_by_item
from orders_db.query_handler import query_handler

handler = query_handler(monthly_sales_by_item)
