"""The schema, in one place: one module per feature, each table a peewee model on
`app.db.BaseModel`. Importing `app.models` registers every table; `app/migrations/`
builds and upgrades them (frozen copies of these shapes, one file per change).

Nothing here hides a workflow in save(): numbering, outboxes and events are written by
the domain verbs that own them. Datetimes are stored as naive UTC; local WITA days as
dates.

- catalogue: Site, Agency, Service, SiteService, OpeningWindow, Closure, Counter,
  CounterService, CatalogueVersion, CatalogueGeneration
- queue: NumberSequence, Ticket, TicketEvent, WaitingCount
- accounts: User, ApiToken, StaffSession, LoginAttempt
- audit: AuditEntry
- booking: BookingSetting, SlotCounter, DayCounter, Appointment
- cases: Case, CaseEvent, CaseAttachment
- forwarding: ForwardingMessage, SyncState, InboxMessage, SyncNonce, SyncKey,
  FeedCounter, CaseUpdate, HallState
- printing: Kiosk, PrintJob
- devices: BoardDevice, BoardPairing
- mail: MailMessage
- notify: Notification, NotifyOptOut, NotifyTemplate, TicketWatch, NotifyNonce
- ratelimit: RateCounter
- survey: SurveyResponse
- visits: VisitFact, VisitDay, VisitCursor, HallPulse
"""
from .accounts import ApiToken, LoginAttempt, StaffSession, User
from .audit import AuditEntry
from .booking import Appointment, BookingSetting, DayCounter, SlotCounter
from .cases import Case, CaseAttachment, CaseEvent
from .catalogue import (
    Agency,
    CatalogueGeneration,
    CatalogueVersion,
    Closure,
    Counter,
    CounterService,
    OpeningWindow,
    Service,
    Site,
    SiteService,
)
from .devices import BoardDevice, BoardPairing
from .fields import JSONField, random_id
from .forwarding import (
    CaseUpdate,
    FeedCounter,
    ForwardingMessage,
    HallState,
    InboxMessage,
    SyncKey,
    SyncNonce,
    SyncState,
)
from .mail import MailMessage
from .notify import Notification, NotifyNonce, NotifyOptOut, NotifyTemplate, TicketWatch
from .printing import Kiosk, PrintJob
from .queue import NumberSequence, Ticket, TicketEvent, WaitingCount
from .ratelimit import RateCounter
from .survey import SurveyResponse
from .visits import HallPulse, VisitCursor, VisitDay, VisitFact

__all__ = [
    "Agency", "ApiToken", "Appointment", "AuditEntry", "BoardDevice", "BoardPairing",
    "BookingSetting", "Case", "CaseAttachment", "CaseEvent", "CaseUpdate",
    "CatalogueGeneration", "CatalogueVersion", "Closure", "Counter",
    "CounterService", "DayCounter", "FeedCounter", "ForwardingMessage", "HallPulse", "HallState",
    "InboxMessage", "JSONField", "Kiosk", "LoginAttempt", "MailMessage", "Notification",
    "NotifyNonce", "NotifyOptOut", "NotifyTemplate", "NumberSequence",
    "OpeningWindow", "PrintJob", "RateCounter", "Service", "Site", "SiteService", "StaffSession",
    "SlotCounter", "SurveyResponse", "SyncKey", "SyncNonce", "SyncState", "Ticket",
    "TicketEvent", "TicketWatch", "User", "VisitCursor", "VisitDay", "VisitFact", "WaitingCount",
    "random_id",
]
