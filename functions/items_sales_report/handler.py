"""Lambda handler of the itemsSalesReport query: the query event's detail in, its orderQueryResponse detail out."""

from orders_db.queries import items_sales_report
from orders_db.query_handler import query_handler

handler = query_handler(items_sales_report)
