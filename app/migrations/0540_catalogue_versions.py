# Catalogue versions (the centre's current one, and the one each hall runs) and the
# origin of a closure (the centre's catalogue, or decided by the hall itself). Existing
# closures were all made where the catalogue lives, so they are the centre's.
from peewee import *
from playhouse.migrations import SchemaMigrator


def up(migrator: SchemaMigrator, db):
    migrator.migrate(
        migrator.add_column('closure', 'origin', CharField(max_length=8, default='centre')),
    )

    class Site(Model):
        class Meta:
            database = db
            table_name = 'site'

    class CatalogueVersion(Model):
        site = ForeignKeyField(Site, null=True, unique=True)
        version = BigIntegerField(default=0)
        target = BigIntegerField(default=0)
        updated_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'catalogue_version'
    db.create_tables([CatalogueVersion])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('catalogue_version'),
                     migrator.drop_column('closure', 'origin'))
