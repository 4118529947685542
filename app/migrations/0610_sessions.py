# Sessions that really end (issue 13): a console login is a row (StaffSession) that
# logout, a password change or a disabled account deletes; failed logins keep the
# username and client apart, for limits per account, per (account, address) and per
# address; an attempt whose password is still being checked is `pending`. Adds a table and columns with defaults: existing rows keep their data (old
# failures carry no username and age out of the 15-minute window).
from peewee import *
from playhouse.migrations import SchemaMigrator


def up(migrator: SchemaMigrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class StaffSession(Model):
        id_hash = CharField(unique=True, max_length=64)
        user = ForeignKeyField(User)
        created_at = DateTimeField()
        expires_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'staff_session'
    db.create_tables([StaffSession])
    migrator.migrate(
        migrator.add_column('login_attempt', 'username', CharField(max_length=80, default='')),
        migrator.add_column('login_attempt', 'client', CharField(max_length=100, default='')),
        migrator.add_column('login_attempt', 'pending', BooleanField(default=False)),
        migrator.add_index('login_attempt', ('username',), False),
        migrator.add_index('login_attempt', ('client',), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('login_attempt', 'login_attempt_username'),
        migrator.drop_index('login_attempt', 'login_attempt_client'),
        migrator.drop_column('login_attempt', 'username'),
        migrator.drop_column('login_attempt', 'client'),
        migrator.drop_column('login_attempt', 'pending'),
    )
    db.execute_sql('DROP TABLE staff_session')
