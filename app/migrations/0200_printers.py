# Printers: per-kiosk print settings and the print queue (printers/models.py).
# Frozen model copies; the snapshot column `data` is JSON text.

from peewee import *


def up(migrator, db):
    class Site(Model):
        class Meta:
            database = db
            table_name = 'site'

    class Ticket(Model):
        id = CharField(primary_key=True, max_length=32)
        class Meta:
            database = db
            table_name = 'ticket'

    class Kiosk(Model):
        site = ForeignKeyField(Site)
        code = CharField(max_length=20)
        name = CharField(max_length=80)
        print_mode = CharField(max_length=20, default='browser-html')
        host = CharField(max_length=255, default='')
        port = IntegerField(default=9100)
        paper_width = IntegerField(default=80)
        qr_mode = CharField(max_length=10, default='native')
        active = BooleanField(default=True)
        printer_state = CharField(max_length=12, default='unknown')
        printer_checked_at = DateTimeField(null=True)
        printer_error = CharField(max_length=255, default='')
        class Meta:
            database = db
            table_name = 'kiosk'
            indexes = ((('site', 'code'), True),)
    db.create_tables([Kiosk])

    class PrintJob(Model):
        ticket = ForeignKeyField(Ticket, null=True)
        kiosk = ForeignKeyField(Kiosk)
        kind = CharField(max_length=12, default='ticket')
        reprint = BooleanField(default=False)
        data = TextField()
        status = CharField(max_length=10, default='pending')
        attempts = IntegerField(default=0)
        created_at = DateTimeField()
        next_try_at = DateTimeField()
        lease_owner = CharField(null=True, max_length=64)
        lease_until = DateTimeField(null=True)
        last_error = CharField(max_length=255, default='')
        printed_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'print_job'
            indexes = ((('status', 'next_try_at'), False),)
    db.create_tables([PrintJob])

    # Halls that already exist get one kiosk printing through the browser, as the demo
    # loader gives new ones (app/demo.py only runs on an empty database).
    for site in Site.select(Site.id):
        Kiosk.create(site=site.id, code='k1', name='Kiosk 1', print_mode='browser-html')


def down(migrator, db):
    migrator.migrate(migrator.drop_table('print_job'))
    migrator.migrate(migrator.drop_table('kiosk'))
