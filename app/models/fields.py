"""Column types and id makers shared by the tables."""
import json
import secrets

import peewee as pw


def random_id() -> str:
    """128 random bits, hex: public ticket ids are never sequential."""
    return secrets.token_hex(16)


class JSONField(pw.TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def python_value(self, value):
        return None if value is None else json.loads(value)
