"""Lambda handler of the getOrder query: the query event's detail in, its orderQueryResponse detail out."""

from orders_db.queries import get_order
from orders_db.query_handler import query_handler

handler = query_handler(get_order)
