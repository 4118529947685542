# Visit facts by service and day: a report narrowed to an agency or a service (an
# officer's) reads its services' facts of the period through this index; with only
# (site, day), (day, site) and the service's own index, SQLite walked every fact of
# those services in every month (an officer's month of 1.5 million facts a year: 28 s).
from playhouse.migrations import SchemaMigrator


def up(migrator: SchemaMigrator, db):
    migrator.migrate(migrator.add_index('visit_fact', ('service_id', 'day'), False,
                                        name='visit_fact_service_id_day'))


def down(migrator, db):
    migrator.migrate(migrator.drop_index('visit_fact', 'visit_fact_service_id_day'))
