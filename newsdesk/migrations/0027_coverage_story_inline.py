"""Keep a story's packed centroid and embedding sum inline (PostgreSQL).

Every assignment reads the candidate stories' packed centroids and, with a
semantic backend, their embedding sums (2 kB of float32 for USE v3), and every
join writes them again. Past about 2 kB a row's largest values were moved out
of line (TOAST): one more index lookup per value read, and a TOAST row written
and another dead for each update. Rows up to a page now stay whole; a larger
one still moves its JSON centroid (not read on the hot path) out first.
Existing rows change when next written. SQLite has no TOAST: nothing to do.
"""

from django.db import migrations

INLINE = [
    "ALTER TABLE newsdesk_coveragestory ALTER COLUMN embedding SET STORAGE MAIN",
    "ALTER TABLE newsdesk_coveragestory ALTER COLUMN centroid_packed SET STORAGE MAIN",
    "ALTER TABLE newsdesk_coveragestory SET (toast_tuple_target = 8160)",
]
BACK = [
    "ALTER TABLE newsdesk_coveragestory ALTER COLUMN embedding SET STORAGE EXTENDED",
    "ALTER TABLE newsdesk_coveragestory ALTER COLUMN centroid_packed SET STORAGE EXTENDED",
    "ALTER TABLE newsdesk_coveragestory RESET (toast_tuple_target)",
]


def _run(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("newsdesk", "0026_coverage_boilerplate")]

    operations = [migrations.RunPython(_run(INLINE), _run(BACK))]
