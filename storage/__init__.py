"""Storage: SQLAlchemy tables, migrations and the queries newsmon runs."""
