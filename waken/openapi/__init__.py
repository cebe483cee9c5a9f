"""The OpenAPI document: the table of operations, the rules apispec cannot infer, and the document built from them."""
