"""Staff accounts on PostgreSQL (the centre): search, the rules and the API."""
import pytest

from app.domain import audit, users
from app.errors import Conflict
from app.models import AuditEntry, User

from .conftest import MONDAY_9, Api

pytestmark = [pytest.mark.postgres]


def test_accounts_on_postgres(pg_app):
    admin = audit.Actor.of(User.get(User.username == "admin"))
    names = {u.username for u in users.visible(admin, "Mini MPP Tabang")}
    assert names == {"operator.tabang", "supervisor.tabang"}
    assert [u.role for u in users.visible(admin)][0] == "admin"
    created = users.create_user(admin, MONDAY_9, "Operator2.Tabang", "Siti", "operator",
                                site="tabang")
    assert created.one_time_password
    with pytest.raises(Conflict):
        users.create_user(admin, MONDAY_9, "OPERATOR2.tabang", "Siti", "operator",
                          site="tabang")
    with pytest.raises(Conflict):
        users.disable_user(audit.SYSTEM, MONDAY_9, "admin")
    sup = audit.Actor.of(User.get(User.username == "supervisor.tabang"))
    assert [u.username for u in users.visible(sup, "operator")] == [
        "operator.tabang", "operator2.tabang"]
    client = pg_app.test_client()
    api = Api(client).login("admin")
    r = client.patch("/api/v1/admin/users/operator2.tabang", json={"active": False},
                     headers=api.headers)
    assert r.status_code == 200 and r.json["active"] is False
    assert [e.action for e in AuditEntry.select().order_by(AuditEntry.id)] == [
        "user.create", "user.disable"]
