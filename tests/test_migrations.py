"""The migrations build exactly the schema the models describe: no table, column or
index of a model is missing after `mpp setup`, and no two features claim one table."""
from collections import Counter

from playhouse.schema_diff import diff_models

import app as app_package  # noqa: F401  (create_app imports every model module)
from app.db import BaseModel, database


def all_models():
    found, todo = [], list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        found.append(model)
        todo.extend(model.__subclasses__())
    return [m for m in found if m.__module__.split(".")[0] in ("app", "printers", "boards")]


def test_every_model_has_its_own_table(app):
    names = Counter(m._meta.table_name for m in all_models())
    assert [name for name, n in names.items() if n > 1] == []


def test_migrated_schema_matches_the_models(app):
    diff = diff_models(database.obj, all_models())
    assert diff.create_tables == [], [m.__name__ for m in diff.create_tables]
    assert diff.add_columns == [], [(f.model.__name__, f.name) for f in diff.add_columns]
    assert diff.drop_columns == []
    assert diff.add_indexes == []
