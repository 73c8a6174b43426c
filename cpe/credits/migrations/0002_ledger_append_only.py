"""On PostgreSQL, make the credit ledger and the status history append-only in the database.

As for the audit log (cpe/core/migrations/0002): row triggers refuse UPDATE and DELETE from
any client; TRUNCATE stays with the table owner. SQLite relies on the model and queryset
guards, and `verify_ledger` finds an edit made behind both.
"""

from django.db import migrations

TABLES = ["credits_creditentry", "credits_yearstatuschange"]

FORWARD = [
    """CREATE OR REPLACE FUNCTION credits_ledger_refuse() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the credit ledger is append-only: record a reversing entry'; END;
       $$ LANGUAGE plpgsql;""",
] + [
    f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION credits_ledger_refuse();"""
    for table in TABLES
]
REVERSE = [f"DROP TRIGGER IF EXISTS {table}_no_change ON {table};" for table in TABLES] + [
    "DROP FUNCTION IF EXISTS credits_ledger_refuse();"
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(REVERSE))]
