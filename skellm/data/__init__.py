"""Takes as data: label sources, ingest, the take table, validation, harmonisation, splits."""
