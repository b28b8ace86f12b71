"""The HTTP surface: one module per resource, an ``Api`` that validates and documents them."""
