"""Each ledger entry carries the year's running sums (all credits and the professional ones,
in whole tenths, in the order entries were recorded), so that the recomputation finds the
moment a year first met its rules in its one pass over the ledger.

Existing entries are filled from the ledger as it stands, every one of them: the sums are
what they would have been had the entries been appended in the order of their times. The
append-only trigger is off while they are written (as in 0006), and the covering index is
built afterwards, once. The sums are not part of an entry's seal, so no hash changes. The
SQL is frozen here, as it was at this migration.

On a large ledger this is one long transaction that rewrites every row with the table
locked (on the bench's 10 million entries, 2 cores: 185 s for the update and 24 s for the
index): run it in a maintenance window, and VACUUM the table afterwards, so that the recomputation's index-only reads need not visit it.
"""

from django.db import migrations, models

TABLE = "credits_creditentry"
TRIGGER = "credits_creditentry_no_change"


WINDOWED = """
    SELECT id,
           SUM({tenths}) OVER recorded AS running_total,
           SUM(CASE WHEN category = 'professional' THEN {tenths} ELSE 0 END)
               OVER recorded AS running_professional
    FROM credits_creditentry
    WINDOW recorded AS (
        PARTITION BY learner_id, year ORDER BY created_at, id
        ROWS UNBOUNDED PRECEDING
    )
"""


def fill_running_sums(connection) -> None:
    """Fill every entry's running sums from the ledger: a window over each learner-year in
    the order of (created_at, id). One statement on PostgreSQL; on SQLite (which has
    UPDATE ... FROM only from 3.33) through a temporary table keyed by id."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Checks of this transaction's foreign keys run now, so none is pending at ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
            windowed = WINDOWED.format(tenths="CAST(credits * 10 AS INTEGER)")
            cursor.execute(
                f"UPDATE {TABLE} SET running_total = w.running_total,"
                f" running_professional = w.running_professional"
                f" FROM ({windowed}) w WHERE {TABLE}.id = w.id"
            )
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")
            return
        windowed = WINDOWED.format(tenths="CAST(ROUND(credits * 10) AS INTEGER)")
        cursor.execute("DROP TABLE IF EXISTS credits_running_sums")
        cursor.execute(
            "CREATE TEMPORARY TABLE credits_running_sums (id INTEGER PRIMARY KEY,"
            " running_total INTEGER, running_professional INTEGER)"
        )
        cursor.execute(f"INSERT INTO credits_running_sums {windowed}")
        cursor.execute(
            f"UPDATE {TABLE} SET"
            f" running_total = (SELECT w.running_total FROM credits_running_sums w"
            f" WHERE w.id = {TABLE}.id),"
            f" running_professional = (SELECT w.running_professional FROM credits_running_sums w"
            f" WHERE w.id = {TABLE}.id)"
        )
        cursor.execute("DROP TABLE credits_running_sums")


def fill(apps, schema_editor):
    fill_running_sums(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0009_credit_import_updated_at"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="creditentry",
            name="credit_entry_recorded_order",
        ),
        migrations.AddField(
            model_name="creditentry",
            name="running_professional",
            field=models.IntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="creditentry",
            name="running_total",
            field=models.IntegerField(blank=True, editable=False, null=True),
        ),
        # Backwards the columns go, and nothing is left to undo.
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="creditentry",
            index=models.Index(
                fields=[
                    "learner",
                    "year",
                    "created_at",
                    "id",
                    "category",
                    "source",
                    "credits",
                    "running_total",
                    "running_professional",
                ],
                name="credit_entry_recorded_order",
            ),
        ),
    ]
