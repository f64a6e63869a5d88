"""Shared code of the query-side Lambda functions: database access, projection and read-model queries."""
