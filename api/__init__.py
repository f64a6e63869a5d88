"""The HTTP API in front of the order workflow: its routes (routes.py), the mapping templates that turn a request
into the workflow's inbound event and the workflow's answer into the response (templates.py), and the OpenAPI 3
document built from both (openapi.py; published as api/openapi.json). Pure Python, no Pulumi: the program
(components/http_api.py) and localcloud (localcloud/http_api.py) both read what it builds."""
