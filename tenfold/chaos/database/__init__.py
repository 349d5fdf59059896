"""The relational database (PostgreSQL locally, RDS on AWS)."""
