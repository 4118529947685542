# The ticket path at the framework's speed.
#
# - catalogue_generation: one row whose number triggers raise on every write to a
#   catalogue table, so each process's catalogue cache (app/domain/catalogue_cache.py)
#   sees an admin change made in any process on its next read. A counter's status (open,
#   paused, closed) changes all day long and is not catalogue: its UPDATE triggers fire
#   only when another column changes.
# - waiting_count (SQLite): tickets waiting per (hall, service, day), kept by triggers on
#   ticket, filled here from the waiting tickets already there. On PostgreSQL the table
#   stays empty (and the counts stay GROUP BYs): one shared count row per lane, updated
#   by issuing, calling and transferring, would put row locks (and, with transfers both
#   ways, deadlocks) between transactions that do not touch each other's tickets today.
# - ticket_lane_order: the queue order within a hall's service on a day (the time part of
#   it), so call-next finds a lane's head and the people behind a ticket are counted
#   without reading the whole lane; with the two partial indexes of the waiting tickets
#   that go first (a priority group; an appointment that is due), each part of the queue
#   order is an index range (app/domain/queueing.py, SQLite; they serve PostgreSQL too).
#   ticket_recently_served: the last tickets served of a service at a hall (the wait
#   estimate of every ticket shown) without sorting all the hall's tickets of all days.
#   The ticket's (site, day, status) and (site) indexes go: lane order and the unique
#   (site, prefix, day, seq) start with them, and each index costs every write.
from peewee import *

INDEXES = (
    'CREATE INDEX ticket_lane_order ON ticket (site_id, day, status, service_id, '
    '(COALESCE(due_at, issued_at)), issued_at, id)',
    "CREATE INDEX ticket_waiting_priority ON ticket (site_id, day, service_id) "
    "WHERE status = 'waiting' AND priority_group IS NOT NULL",
    "CREATE INDEX ticket_waiting_due ON ticket (site_id, day, service_id, due_at) "
    "WHERE status = 'waiting' AND due_at IS NOT NULL",
    # The estimate's last tickets served of a service at a hall (estimates.py), read for
    # every ticket shown: without it, every ticket the hall ever issued was sorted.
    'CREATE INDEX ticket_recently_served ON ticket (site_id, service_id, status, finished_at)',
)

CATALOGUE_TABLES = ('site', 'agency', 'service', 'site_service', 'opening_window',
                    'closure', 'counter', 'counter_service')
# A counter's columns that are catalogue (status is not).
COUNTER_COLUMNS = ('site_id', 'code', 'name', 'number', 'active')


def _is_sqlite(db):
    return isinstance(db, SqliteDatabase)


def up(migrator, db):
    class Site(Model):
        class Meta:
            database = db
            table_name = 'site'

    class Service(Model):
        class Meta:
            database = db
            table_name = 'service'

    class CatalogueGeneration(Model):
        generation = BigIntegerField(default=0)
        class Meta:
            database = db
            table_name = 'catalogue_generation'

    class WaitingCount(Model):
        site = ForeignKeyField(Site)
        service = ForeignKeyField(Service)
        day = DateField()
        waiting = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'waiting_count'
            indexes = ((('site', 'service', 'day'), True),)

    db.create_tables([CatalogueGeneration, WaitingCount])
    db.execute_sql('INSERT INTO catalogue_generation (id, generation) VALUES (1, 0)')
    for sql in INDEXES:
        db.execute_sql(sql)
    # Every ticket written updates each index: these two are prefixes of the others
    # (ticket_lane_order; the unique site, prefix, day, seq).
    db.execute_sql('DROP INDEX IF EXISTS ticket_site_id_day_status')
    db.execute_sql('DROP INDEX IF EXISTS ticket_site_id')
    if _is_sqlite(db):
        _sqlite_triggers(db)
    else:
        _postgres_triggers(db)


def _sqlite_triggers(db):
    bump = 'UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;'
    changed = ' OR '.join(f'NEW.{c} IS NOT OLD.{c}' for c in COUNTER_COLUMNS)
    for table in CATALOGUE_TABLES:
        for op in ('INSERT', 'UPDATE', 'DELETE'):
            when = f' WHEN {changed}' if (table, op) == ('counter', 'UPDATE') else ''
            db.execute_sql(f'CREATE TRIGGER catalogue_generation_{table}_{op.lower()} '
                           f'AFTER {op} ON {table}{when} BEGIN {bump} END')
    db.execute_sql(
        'INSERT INTO waiting_count (site_id, service_id, day, waiting) '
        "SELECT site_id, service_id, day, COUNT(*) FROM ticket WHERE status = 'waiting' "
        'GROUP BY site_id, service_id, day')

    def add(row):
        return (f'INSERT OR IGNORE INTO waiting_count (site_id, service_id, day, waiting) '
                f'VALUES ({row}.site_id, {row}.service_id, {row}.day, 0); '
                f'UPDATE waiting_count SET waiting = waiting + 1 WHERE site_id = {row}.site_id '
                f'AND service_id = {row}.service_id AND day = {row}.day;')

    def remove(row):
        return (f'UPDATE waiting_count SET waiting = waiting - 1 WHERE site_id = {row}.site_id '
                f'AND service_id = {row}.service_id AND day = {row}.day;')

    db.execute_sql("CREATE TRIGGER waiting_count_insert AFTER INSERT ON ticket "
                   f"WHEN NEW.status = 'waiting' BEGIN {add('NEW')} END")
    db.execute_sql("CREATE TRIGGER waiting_count_delete AFTER DELETE ON ticket "
                   f"WHEN OLD.status = 'waiting' BEGIN {remove('OLD')} END")
    moved = ("(OLD.status = 'waiting') AND (NEW.status IS NOT 'waiting' "
             'OR NEW.site_id IS NOT OLD.site_id OR NEW.service_id IS NOT OLD.service_id '
             'OR NEW.day IS NOT OLD.day)')
    db.execute_sql('CREATE TRIGGER waiting_count_update_from AFTER UPDATE ON ticket '
                   f"WHEN {moved} BEGIN {remove('OLD')} END")
    arrived = ("(NEW.status = 'waiting') AND (OLD.status IS NOT 'waiting' "
               'OR NEW.site_id IS NOT OLD.site_id OR NEW.service_id IS NOT OLD.service_id '
               'OR NEW.day IS NOT OLD.day)')
    db.execute_sql('CREATE TRIGGER waiting_count_update_to AFTER UPDATE ON ticket '
                   f"WHEN {arrived} BEGIN {add('NEW')} END")


def _postgres_triggers(db):
    db.execute_sql(
        'CREATE OR REPLACE FUNCTION bump_catalogue_generation() RETURNS trigger AS $$ '
        'BEGIN UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1; '
        'RETURN NULL; END $$ LANGUAGE plpgsql')
    changed = ' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in COUNTER_COLUMNS)
    for table in CATALOGUE_TABLES:
        if table == 'counter':
            db.execute_sql(
                'CREATE TRIGGER catalogue_generation_counter AFTER INSERT OR DELETE '
                'ON counter FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_generation()')
            db.execute_sql(
                'CREATE TRIGGER catalogue_generation_counter_update AFTER UPDATE ON counter '
                f'FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION bump_catalogue_generation()')
        else:
            db.execute_sql(
                f'CREATE TRIGGER catalogue_generation_{table} AFTER INSERT OR UPDATE OR '
                f'DELETE OR TRUNCATE ON {table} FOR EACH STATEMENT '
                'EXECUTE FUNCTION bump_catalogue_generation()')


def down(migrator, db):
    if _is_sqlite(db):
        names = [f'catalogue_generation_{t}_{op}' for t in CATALOGUE_TABLES
                 for op in ('insert', 'update', 'delete')]
        names += ['waiting_count_insert', 'waiting_count_delete', 'waiting_count_update_from',
                  'waiting_count_update_to']
        for name in names:
            db.execute_sql(f'DROP TRIGGER IF EXISTS {name}')
    else:
        for table in CATALOGUE_TABLES:
            db.execute_sql(f'DROP TRIGGER IF EXISTS catalogue_generation_{table} ON {table}')
        db.execute_sql('DROP TRIGGER IF EXISTS catalogue_generation_counter_update ON counter')
        db.execute_sql('DROP FUNCTION IF EXISTS bump_catalogue_generation()')
    db.execute_sql('CREATE INDEX ticket_site_id ON ticket (site_id)')
    db.execute_sql('CREATE INDEX ticket_site_id_day_status ON ticket (site_id, day, status)')
    for name in ('ticket_lane_order', 'ticket_waiting_priority', 'ticket_waiting_due',
                 'ticket_recently_served'):
        db.execute_sql(f'DROP INDEX IF EXISTS {name}')
    migrator.migrate(migrator.drop_table('waiting_count'),
                     migrator.drop_table('catalogue_generation'))
