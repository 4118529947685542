"""Pushed waiting lists (boards/console_lists.py): one render per hall and set of
services, each console gets its own counter's list, in queue order, and a change of
the queue reaches the consoles through the hub without them asking."""
import json
import threading

from app.domain import queueing
from app.models import Counter, Site
from boards.console_lists import ConsoleLists
from boards.hub import Hub

from .conftest import MONDAY_9, queue_in_order


class Console:
    """A console socket as the hub and the lists see it: its hall, its counter, and
    the lists delivered to it."""

    def __init__(self, site, code):
        counter = Counter.get((Counter.site == site) & (Counter.code == code))
        self.site_code, self.counter_id, self.counter = site.code, counter.id, code
        self.messages = []
        self.got = threading.Event()

    def deliver(self, message, frame=None, seq=0):
        message = json.loads(message)
        if message["type"] == "waiting":  # (the hub also hands it the events)
            self.messages.append(message)
            self.got.set()

    def close(self):
        pass

    def numbers(self):
        html = self.messages[-1]["html"]
        return [part.split('"')[0] for part in html.split('data-number="')[1:]]


def _issue(site, service, minutes):
    return queueing.issue_ticket(site, queueing.get_service(service),
                                 MONDAY_9.replace(minute=minutes)).number


def test_each_console_gets_its_counters_list_and_a_set_of_services_is_rendered_once(app, db):
    site = Site.get(Site.code == "tabang")
    hub = Hub()
    lists = ConsoleLists(app, hub)
    first, second, permits = Console(site, "L1"), Console(site, "L1"), Console(site, "L2")
    for console in (first, second, permits):
        hub.add(console)
    ktp, nib, kk = _issue(site, "ADM-KTP", 1), _issue(site, "IZN-NIB", 2), _issue(site, "ADM-KK", 3)
    assert lists.push("tabang") == 2  # L1's services once for both of its consoles, L2's
    assert first.numbers() == second.numbers() == [ktp, kk]
    assert permits.numbers() == [nib]
    assert {m["counter"] for m in first.messages} == {"L1"}
    assert permits.messages[-1]["type"] == "waiting" and "seq" not in permits.messages[-1]


def test_a_queue_change_reaches_the_consoles_through_the_hub(app, db):
    site = Site.get(Site.code == "tabang")
    hub = Hub()
    lists = ConsoleLists(app, hub)
    lists.FIRST = lists.EVERY = 0.01
    console = Console(site, "L1")
    hub.add(console)
    number = _issue(site, "ADM-KTP", 5)
    hub.dispatch("tabang", {"type": "finish", "number": "X"})  # not a change of the list
    assert not console.got.wait(0.3)
    hub.dispatch("tabang", {"type": "issued", "number": number})
    assert console.got.wait(5)
    assert console.numbers() == [number]
    # a hall without consoles costs nothing
    hub.dispatch("anggana", {"type": "issued", "number": "A001"})
    assert lists.push("anggana") == 0


def test_the_console_list_is_the_queue_order_of_the_counters_services(app, db):
    """Priority groups first, then by issue time; only the counter's services; the
    plain rows carry what the list shows."""
    site = Site.get(Site.code == "tabang")
    counter = Counter.get((Counter.site == site) & (Counter.code == "L1"))
    services = [s.id for s in queueing.services_of_counter(counter)]
    _issue(site, "ADM-KTP", 1)
    _issue(site, "IZN-NIB", 2)  # not L1's
    queueing.issue_ticket(site, queueing.get_service("ADM-KK"), MONDAY_9.replace(minute=3),
                          priority_group="lansia")
    _issue(site, "ADM-KK", 4)
    now = MONDAY_9.replace(minute=10)
    listed = queueing.console_list(counter.id, site.id, now)
    rows = listed.rows
    assert listed.more == 0
    expected = queue_in_order(site, services, now)
    assert [r.number for r in rows] == [t.number for t in expected] and len(rows) == 3
    assert rows[0].priority_group == "lansia" and rows[0].service_name == "Kartu Keluarga (KK)"
    assert rows[0].issued_at == expected[0].issued_at and rows[0].source == "kiosk"


def test_a_full_list_says_how_many_more_wait(app, db):
    site = Site.get(Site.code == "tabang")
    counter = Counter.get((Counter.site == site) & (Counter.code == "L1"))
    for n in range(queueing.CONSOLE_LIST_LENGTH + 3):
        queueing.issue_ticket(site, queueing.get_service("ADM-KTP"), MONDAY_9)
    listed = queueing.console_list(counter.id, site.id, MONDAY_9.replace(minute=10))
    assert len(listed.rows) == queueing.CONSOLE_LIST_LENGTH and listed.more == 3
    html = app.jinja_env.get_template("_partials/console_waiting.html").render(
        waiting=listed, priority_groups=queueing.PRIORITY_GROUPS)
    assert "dan 3 lainnya menunggu" in html and "and 3 more waiting" in html
