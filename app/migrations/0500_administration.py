# Administration: hall contact details, service standards, ordered counter services,
# closures of some services and from-to ranges, account life cycle, the audit trail.
# Adds columns with defaults, so a hall's existing rows keep their data.
from peewee import *
from playhouse.migrations import SchemaMigrator


def up(migrator: SchemaMigrator, db):
    migrator.migrate(
        migrator.add_column('site', 'address', CharField(max_length=200, default='')),
        migrator.add_column('site', 'phone', CharField(max_length=30, default='')),
        migrator.add_column('site', 'active', BooleanField(default=True)),
        migrator.add_column('service', 'target_wait_minutes', IntegerField(null=True)),
        migrator.add_column('service', 'processing_days', IntegerField(null=True)),
        migrator.add_column('service', 'standard', TextField(default='')),
        migrator.add_column('closure', 'services', TextField(null=True)),
        migrator.add_column('closure', 'batch', CharField(max_length=32, default='')),
        migrator.add_column('closure', 'created_by', CharField(max_length=80, default='')),
        migrator.add_column('closure', 'created_at', DateTimeField(null=True)),
        migrator.add_index('closure', ('batch',), False),
        migrator.add_column('counter', 'active', BooleanField(default=True)),
        migrator.add_column('counter_service', 'position', IntegerField(default=0)),
        migrator.add_column('user', 'must_change_password', BooleanField(default=False)),
        migrator.add_column('user', 'last_login_at', DateTimeField(null=True)),
        migrator.add_column('user', 'created_at', DateTimeField(null=True)),
    )

    class AuditEntry(Model):
        at = DateTimeField()
        actor = CharField(max_length=80)
        role = CharField(max_length=12, default='')
        site_code = CharField(max_length=40, default='')
        action = CharField(max_length=60)
        object = CharField(max_length=120, default='')
        before = TextField(null=True)
        after = TextField(null=True)
        client = CharField(max_length=100, default='')
        class Meta:
            database = db
            table_name = 'audit_entry'
            indexes = ((('site_code', 'at'), False), (('actor', 'at'), False),
                       (('action', 'at'), False))
    db.create_tables([AuditEntry])
    # Append-only for the application: the database itself refuses changes to the trail.
    if isinstance(db, SqliteDatabase):
        for verb in ('UPDATE', 'DELETE'):
            db.execute_sql(
                f"CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry "
                "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END")
    else:
        db.execute_sql(
            "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END $$ LANGUAGE plpgsql")
        db.execute_sql(
            "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()")


def down(migrator, db):
    if not isinstance(db, SqliteDatabase):
        db.execute_sql("DROP FUNCTION IF EXISTS audit_entry_append_only() CASCADE")
    migrator.migrate(migrator.drop_table('audit_entry'))
