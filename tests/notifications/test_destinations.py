"""Webhooks go to public addresses only (server-side request forgery): a URL naming a
loopback, private, link-local, metadata or otherwise non-public address is refused at
registration, and at each delivery the host is resolved again, refused if any address
is not allowed, and connected to at the address that was checked."""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree

from open311.config import DEFAULTS
from open311.extensions import db
from open311.models import ApiKey, DeliveryState, Subscription, Webhook
from open311.notifications.channels import Senders, WebhookSender
from open311.notifications.destinations import (
    Destinations,
    RefusedDestination,
    Target,
    parse_networks,
)
from open311.notifications.subscriptions import Scope, create_webhook
from tests.builders import pothole_form
from tests.notifications.conftest import LOOPBACK, Receiver, notifications, send_outbox, serving

ANONYMOUS = {"email": None, "phone": None, "account_id": None}
PUBLIC = "93.184.215.14"  # a global unicast address; nothing is ever sent to it here

REFUSED_ADDRESSES = [
    "127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "192.0.2.10", "198.18.0.1",
    "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1",
    "2001:db8::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
    "::127.0.0.1", "2002:7f00:1::", "2002:a9fe:a9fe::1", "64:ff9b::7f00:1",
]  # fmt: skip
PUBLIC_ADDRESSES = [PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_non_public_addresses_are_not_allowed_by_default(address):
    assert not Destinations().allows(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_allowed(address):
    assert Destinations().allows(ipaddress.ip_address(address))


def test_allowed_networks_open_exactly_those_networks():
    destinations = Destinations(allowed_networks=parse_networks("10.1.0.0/16, fd00:1::/32"))
    allowed = ["10.1.2.3", "::ffff:10.1.2.3", "fd00:1::5", PUBLIC]
    refused = ["10.2.0.1", "127.0.0.1", "169.254.169.254", "fd00:2::5"]
    assert [destinations.allows(ipaddress.ip_address(a)) for a in allowed] == [True] * 4
    assert [destinations.allows(ipaddress.ip_address(a)) for a in refused] == [False] * 4
    assert parse_networks(["127.0.0.0/8"]) == parse_networks("127.0.0.0/8,") != ()
    with pytest.raises(ValueError, match=re.escape("'10.0.0.300/8' is not a network")):
        parse_networks("10.0.0.300/8")


def test_a_name_is_refused_if_any_of_its_addresses_is_not_public():
    answers = {
        "mixed.partner.test": [PUBLIC, "10.0.0.7"],
        "good.partner.test": [PUBLIC, "2606:4700::1"],
    }
    destinations = Destinations(resolve=lambda host, _port: answers[host])
    with pytest.raises(
        RefusedDestination, match=re.escape("'mixed.partner.test' resolves to 10.0.0.7")
    ):
        destinations.check("https://mixed.partner.test/hook")
    assert destinations.check("https://good.partner.test/hook?x=1") == Target(
        "https", "good.partner.test", 443, "/hook?x=1"
    )


# --- at registration: the HTTP API (JSON and XML) and the CLI ------------------------------

REFUSED_URLS = [
    ("http://127.0.0.1:5432/", "127.0.0.1, which is not a public address"),
    ("http://10.0.0.1/hook", "10.0.0.1, which is not a public address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, which is not a public address"),
    ("http://[::1]:8080/hook", "::1, which is not a public address"),
    ("http://[::ffff:7f00:1]/hook", "::ffff:7f00:1, which is not a public address"),
    (
        "http://[::ffff:127.0.0.1]/hook",
        "url: ",
    ),  # marshmallow's own URL check refuses this spelling
    ("http://[::]/hook", "::, which is not a public address"),
    ("http://localhost:8080/hook", "'localhost' resolves to 127.0.0.1"),
    ("http://2130706433/hook", "'2130706433' resolves to 127.0.0.1"),  # 127.0.0.1 as one number
    ("http://0/hook", "'0' resolves to 0.0.0.0"),
    (f"http://partner:secret@{PUBLIC}/hook", "user name or password"),
    ("https://hooks.partner.invalid/hook", "'hooks.partner.invalid' could not be resolved"),
]


def webhooks(app):
    with app.app_context():
        return db.session.scalars(sa.select(Webhook)).all()


def subscriptions(app):
    with app.app_context():
        return db.session.scalars(sa.select(Subscription)).all()


@pytest.mark.parametrize(("url", "reason"), REFUSED_URLS)
def test_a_webhook_to_a_non_public_address_is_refused_and_nothing_is_stored(
    app, client, api_key, url, reason
):
    assert app.config["WEBHOOK_ALLOWED_NETWORKS"] == DEFAULTS["WEBHOOK_ALLOWED_NETWORKS"] == ()
    form = {"api_key": api_key, "url": url, "service_code": "PHF"}
    as_json = client.post("/open311/v2/webhooks.json", data=form)
    assert as_json.status_code == 400, as_json.json
    [error] = as_json.json
    assert error["description"].startswith("url: "), error
    assert reason in error["description"], error
    as_xml = client.post("/open311/v2/webhooks.xml", data=form)
    assert as_xml.status_code == 400
    assert etree.fromstring(as_xml.data).findtext("error/description") == error["description"]
    assert webhooks(app) == []
    assert subscriptions(app) == []


def test_a_webhook_to_a_public_address_is_registered(app, client, api_key):
    """The same form with a public address: the refusals above are about the address."""
    response = client.post(
        "/open311/v2/webhooks.json",
        data={"api_key": api_key, "url": f"https://{PUBLIC}/hook", "service_code": "PHF"},
    )
    assert response.status_code == 201, response.json
    assert [hook.url for hook in webhooks(app)] == [f"https://{PUBLIC}/hook"]


def test_the_cli_refuses_non_public_webhooks_too(app):
    from tests.conftest import create_key

    with app.app_context():
        api_key, _ = create_key(db.session(), "CLI partner")
        db.session.commit()
        key_id = api_key.id
    runner = app.test_cli_runner()
    for url, reason in [
        ("http://[::ffff:127.0.0.1]:5432/", "::ffff:127.0.0.1, which is not a public address"),
        ("http://169.254.169.254/latest/meta-data/", "not a public address"),
        ("http://localhost/hook", "resolves to 127.0.0.1"),
        (f"http://user:pass@{PUBLIC}/", "user name or password"),
        (f"ftp://{PUBLIC}/hook", "only http and https"),
        ("http:///hook", "names no host"),
    ]:
        result = runner.invoke(
            args=["open311", "add-webhook", str(key_id), url, "--service-code", "PHF"]
        )
        assert result.exit_code != 0, (url, result.output)
        assert "url: " in result.output, (url, result.output)
        assert reason in result.output, (url, result.output)
    assert webhooks(app) == []
    assert subscriptions(app) == []


# --- at delivery ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _one_attempt_per_pass(app, _quick_retries):
    """A failed delivery waits a minute, so one pass of the worker makes one attempt
    however slow the machine (row_due_now makes it due again)."""
    app.config.update(OUTBOX_BACKOFF_SECONDS=60, OUTBOX_BACKOFF_MAX_SECONDS=60)


def file(client, api_key):
    response = client.post("/open311/v2/requests.json", data=pothole_form(api_key, **ANONYMOUS))
    assert response.status_code == 200, response.json


def register(client, api_key, receiver: Receiver, url: str, path: str = "/hook") -> None:
    response = client.post(
        "/open311/v2/webhooks.json", data={"api_key": api_key, "url": url, "service_code": "PHF"}
    )
    assert response.status_code == 201, response.json
    receiver.secrets[path] = response.json[0]["secret"]


def test_a_webhook_allowed_when_registered_is_refused_at_delivery_once_loopback_is_not(
    app, client, api_key, receiver
):
    register(client, api_key, receiver, receiver.url("/hook"))
    file(client, api_key)
    app.config.update(
        WEBHOOK_ALLOWED_NETWORKS=DEFAULTS["WEBHOOK_ALLOWED_NETWORKS"], OUTBOX_MAX_ATTEMPTS=2
    )
    tally = send_outbox(app)
    assert (tally.delivered, tally.retrying, tally.parked) == (0, 1, 0)
    [row] = notifications(app)
    assert row.state == DeliveryState.PENDING
    assert row.attempts == 1
    assert row.last_error.startswith("refused: 127.0.0.1, which is not a public address")
    assert row.last_error.endswith(f"({receiver.url('/hook')})")
    row_due_now(app)
    assert send_outbox(app).parked == 1  # the normal retry, then parked with the reason kept
    [row] = notifications(app)
    assert row.state == DeliveryState.PARKED
    assert row.last_error.startswith("refused: ")
    assert receiver.arrivals == []  # nothing was sent, not even a connection's worth


def test_a_name_that_resolves_to_loopback_is_refused_at_delivery(app, client, api_key, receiver):
    port = receiver.base_url.rsplit(":", 1)[1]
    register(client, api_key, receiver, f"http://localhost:{port}/hook")
    file(client, api_key)
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = DEFAULTS["WEBHOOK_ALLOWED_NETWORKS"]
    assert send_outbox(app).retrying == 1
    [row] = notifications(app)
    assert row.last_error.startswith("refused: 'localhost' resolves to ")
    assert receiver.arrivals == []
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = LOOPBACK  # the operator allows it: it goes
    row_due_now(app)
    assert send_outbox(app).delivered == 1
    [arrival] = receiver.arrivals
    assert arrival.signed
    assert arrival.host == f"localhost:{port}"


def row_due_now(app):
    with app.app_context():
        from open311.models import Notification
        from open311.models.base import utcnow

        db.session.execute(sa.update(Notification).values(next_attempt_at=utcnow()))
        db.session.commit()


# A stand-in DNS for names the system cannot resolve: what a partner's (or an attacker's)
# name server answers, one answer per lookup, the last one repeated.
class ScriptedDns:
    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    def __call__(self, host: str, _port: int) -> list[str]:
        self.lookups.append(host)
        if host.endswith(".partner.test"):
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        raise RefusedDestination(f"the host {host!r} could not be resolved")


def register_in_domain(app, url: str, destinations: Destinations) -> str:
    """create_webhook itself, with the given resolver; returns the signing secret."""
    with app.app_context():
        session = db.session()
        api_key = session.scalars(sa.select(ApiKey)).one()
        webhook = create_webhook(
            session, api_key, url, [Scope(service_code="PHF")], accounts=False,
            jurisdiction=app.extensions["open311.jurisdiction"], destinations=destinations,
        )  # fmt: skip
        session.commit()
        return webhook.secret


def senders(app, destinations: Destinations, tls: ssl.SSLContext | None = None) -> Senders:
    configured = Senders.from_config(app.config)
    webhook = WebhookSender(1.0, destinations, tls or ssl.create_default_context())
    return Senders(email=configured.email, sms=configured.sms, webhook=webhook)


def test_a_name_rebound_to_loopback_after_registration_is_refused_at_delivery(
    app, client, api_key, receiver
):
    port = receiver.base_url.rsplit(":", 1)[1]
    dns = ScriptedDns([PUBLIC], ["127.0.0.1"])  # public when checked, loopback afterwards
    receiver.secrets["/hook"] = register_in_domain(
        app, f"http://hooks.partner.test:{port}/hook", Destinations(resolve=dns)
    )
    file(client, api_key)
    assert send_outbox(app, senders=senders(app, Destinations(resolve=dns))).retrying == 1
    [row] = notifications(app)
    assert row.last_error.startswith("refused: 'hooks.partner.test' resolves to 127.0.0.1")
    assert receiver.arrivals == []
    assert dns.lookups == ["hooks.partner.test"] * 2


def test_one_non_public_address_among_several_refuses_the_delivery(app, client, api_key, receiver):
    port = receiver.base_url.rsplit(":", 1)[1]
    dns = ScriptedDns([PUBLIC], [PUBLIC, "127.0.0.1"])
    receiver.secrets["/hook"] = register_in_domain(
        app, f"http://hooks.partner.test:{port}/hook", Destinations(resolve=dns)
    )
    file(client, api_key)
    send_outbox(app, senders=senders(app, Destinations(resolve=dns)))
    [row] = notifications(app)
    assert "resolves to 127.0.0.1" in row.last_error
    assert receiver.arrivals == []


def test_the_connection_goes_to_the_checked_address_with_the_name_in_the_host_header(
    app, client, api_key, receiver
):
    """hooks.partner.test means nothing to the system's resolver: the delivery can only
    arrive if the sender connects to the address it checked, without a second lookup."""
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("hooks.partner.test", 80)
    port = receiver.base_url.rsplit(":", 1)[1]
    dns = ScriptedDns(["127.0.0.1"])
    allowed = Destinations(allowed_networks=parse_networks(LOOPBACK), resolve=dns)
    receiver.secrets["/hook"] = register_in_domain(
        app, f"http://hooks.partner.test:{port}/hook", allowed
    )
    file(client, api_key)
    assert send_outbox(app, senders=senders(app, allowed)).delivered == 1
    [arrival] = receiver.arrivals
    assert arrival.signed
    assert arrival.host == f"hooks.partner.test:{port}"
    assert dns.lookups == ["hooks.partner.test"] * 2  # one at registration, one at delivery


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    """A test CA and a certificate it signed for hooks.partner.test (openssl, made here)."""
    folder = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (folder / "leaf.ext").write_text(
        "subjectAltName=DNS:hooks.partner.test\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    commands = [
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Open311 test CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
        ["req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=hooks.partner.test"],
        ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext"],
    ]  # fmt: skip
    for command in commands:
        subprocess.run(["openssl", *command], cwd=folder, check=True, capture_output=True)
    return folder


@pytest.fixture
def https_receiver(app, certificates) -> Iterator[Receiver]:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    with serving(tls) as found:
        yield found


def test_https_checks_sni_and_the_certificate_against_the_name_not_the_address(
    app, client, api_key, https_receiver, certificates
):
    port = https_receiver.base_url.rsplit(":", 1)[1]
    dns = ScriptedDns(["127.0.0.1"])  # both names point at the same server
    allowed = Destinations(allowed_networks=parse_networks(LOOPBACK), resolve=dns)
    trusting_the_test_ca = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    for name in ("hooks", "impostor"):
        url = f"https://{name}.partner.test:{port}/{name}"
        https_receiver.secrets[f"/{name}"] = register_in_domain(app, url, allowed)
    file(client, api_key)
    tally = send_outbox(app, senders=senders(app, allowed, trusting_the_test_ca))
    assert (tally.delivered, tally.retrying) == (1, 1)
    [arrival] = https_receiver.arrivals  # the impostor's name is not on the certificate
    assert arrival.path == "/hooks"
    assert arrival.host == f"hooks.partner.test:{port}"
    assert arrival.signed
    [failed] = [row for row in notifications(app) if row.state == DeliveryState.PENDING]
    assert "CERTIFICATE_VERIFY_FAILED" in failed.last_error
    assert "impostor.partner.test" in failed.last_error
