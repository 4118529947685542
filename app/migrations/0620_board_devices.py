# Boards as registered devices of their hall (app/models/devices.py): the devices and
# the pairing codes unregistered TVs show. Both start empty.
from peewee import *


def up(migrator, db):
    class Site(Model):
        class Meta:
            database = db
            table_name = 'site'

    class BoardDevice(Model):
        site = ForeignKeyField(Site)
        name = CharField(max_length=80)
        credential_hash = CharField(max_length=64, null=True, unique=True)
        paired_at = DateTimeField()
        paired_by = CharField(max_length=80, default='')
        claimed_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)
        revoked_by = CharField(max_length=80, default='')
        class Meta:
            database = db
            table_name = 'board_device'

    class BoardPairing(Model):
        site = ForeignKeyField(Site)
        code = CharField(max_length=8)
        secret_hash = CharField(max_length=64, unique=True)
        address = CharField(max_length=100, default='')
        created_at = DateTimeField()
        expires_at = DateTimeField()
        device = ForeignKeyField(BoardDevice, null=True)
        claimed_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'board_pairing'
            indexes = ((('site', 'code'), False),)
    db.create_tables([BoardDevice, BoardPairing])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('board_pairing'))
    migrator.migrate(migrator.drop_table('board_device'))
