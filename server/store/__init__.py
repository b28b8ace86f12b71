"""PostgreSQL access, migrations, the embedded PostgreSQL launcher and blob stores."""
