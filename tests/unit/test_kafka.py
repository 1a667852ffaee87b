"""registry/infra/kafka.py: PRAKTIJK_KAFKA_SECURITY / _USERNAME / _PASSWORD -> kafka-python kwargs."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.infra import settings as settings_mod
from registry.infra import toegang
from registry.infra.kafka import KafkaSecurityError, client_config, host_of, is_loopback

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("SECURITY", "USERNAME", "PASSWORD", "CA_FILE"):
        monkeypatch.delenv(f"PRAKTIJK_KAFKA_{name}", raising=False)
    return monkeypatch


def test_default_is_sasl_scram(env: pytest.MonkeyPatch) -> None:
    env.setenv("PRAKTIJK_KAFKA_USERNAME", "mbo.albeda")
    env.setenv("PRAKTIJK_KAFKA_PASSWORD", "geheim")
    assert settings_mod.load().kafka_security == "sasl_scram"
    assert client_config("127.0.0.1:9092, localhost:9093", settings_mod.load()) == {
        "bootstrap_servers": ["127.0.0.1:9092", "localhost:9093"],
        "metadata_max_age_ms": 10_000,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "mbo.albeda",
        "sasl_plain_password": "geheim",
    }


def test_password_is_not_in_the_settings_repr(env: pytest.MonkeyPatch) -> None:
    env.setenv("PRAKTIJK_KAFKA_PASSWORD", "zeer-geheim")
    assert "zeer-geheim" not in repr(settings_mod.load())


def test_sasl_without_login_is_a_one_line_error(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(KafkaSecurityError) as exc:
        client_config(["127.0.0.1:9092"], settings_mod.load())
    assert "PRAKTIJK_KAFKA_USERNAME" in str(exc.value) and "\n" not in str(exc.value)


def test_sasl_ssl_uses_tls_and_the_ca_file(env: pytest.MonkeyPatch) -> None:
    env.setenv("PRAKTIJK_KAFKA_SECURITY", "SASL_SSL")
    env.setenv("PRAKTIJK_KAFKA_CA_FILE", "/etc/praktijk/ca.pem")
    cfg = client_config(["kafka.registry.example:9093"], settings_mod.load(), username="api", password="p")
    assert cfg["security_protocol"] == "SASL_SSL" and cfg["ssl_cafile"] == "/etc/praktijk/ca.pem"
    assert cfg["sasl_mechanism"] == "SCRAM-SHA-512" and cfg["sasl_plain_username"] == "api"


@pytest.mark.parametrize("servers", [["127.0.0.1:9092"], ["localhost:9092", "127.0.0.2:1"], ["[::1]:9092"]])
def test_plaintext_to_loopback_is_allowed(env: pytest.MonkeyPatch, servers: list[str]) -> None:
    env.setenv("PRAKTIJK_KAFKA_SECURITY", "plaintext")
    assert client_config(servers, settings_mod.load()) == {  # no login sent
        "bootstrap_servers": servers,
        "metadata_max_age_ms": 10_000,
    }


@pytest.mark.parametrize(
    "servers",
    [
        ["10.1.2.3:9092"],
        ["127.0.0.1:9092", "kafka.registry.example:9092"],
        ["[2001:db8::1]:9092"],
        ["127.0.0.1.example.com:9092"],
    ],
)
def test_plaintext_to_another_host_is_refused(env: pytest.MonkeyPatch, servers: list[str]) -> None:
    env.setenv("PRAKTIJK_KAFKA_SECURITY", "plaintext")
    with pytest.raises(KafkaSecurityError) as exc:
        client_config(servers, settings_mod.load())
    message = str(exc.value)
    assert "plaintext is refused" in message and "not a loopback host" in message and "\n" not in message


@pytest.mark.parametrize("servers", [["10.0.0.2:9092"], ["127.0.0.1:9092", "kafka.registry.example:9092"]])
def test_sasl_scram_to_another_host_is_refused_in_one_line(env: pytest.MonkeyPatch, servers: list[str]) -> None:
    # SCRAM without TLS: the session after the login (every record) travels in clear
    env.setenv("PRAKTIJK_KAFKA_SECURITY", "sasl_scram")
    with pytest.raises(KafkaSecurityError) as exc:
        client_config(servers, settings_mod.load(), username="api", password="p")
    message = str(exc.value)
    assert "sasl_scram is refused" in message and servers[-1] in message and "use sasl_ssl" in message
    assert "\n" not in message


def test_unknown_mode_is_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv("PRAKTIJK_KAFKA_SECURITY", "sasl_plain")
    with pytest.raises(KafkaSecurityError, match="is not one of sasl_scram, sasl_ssl, plaintext"):
        client_config(["127.0.0.1:9092"], settings_mod.load(), username="a", password="b")


def test_host_parsing() -> None:
    assert [host_of(s) for s in ("a:1", "[::1]:9", "::1", "b")] == ["a", "::1", "::1", "b"]
    assert is_loopback("127.8.9.10") and is_loopback("::1") and not is_loopback("192.168.1.1")


def test_partner_acls_name_only_its_own_topics() -> None:
    rules = toegang.partner_rules("mbo.albeda")
    topics = {r.name for r in rules if r.resource == toegang.ResourceType.TOPIC}
    assert topics == {"praktijkleren.ingress.mbo.albeda", "praktijkleren.rejections.mbo.albeda"}
    ops = {(r.name, r.operation.name) for r in rules}
    assert ("praktijkleren.rejections.mbo.albeda", "READ") in ops and (
        "praktijkleren.ingress.mbo.albeda",
        "READ",
    ) not in ops
    assert not any(r.operation.name in ("CREATE", "DELETE", "ALTER", "ALL") for r in rules)
    assert all(r.principal == "mbo.albeda" and r.pattern == toegang.ACLResourcePatternType.LITERAL for r in rules)


def test_api_principal_never_writes_and_components_are_not_partners() -> None:
    rules = toegang.component_rules()
    assert {r.principal for r in rules} == set(toegang.COMPONENTS)
    assert not [r for r in rules if r.principal == "api" and r.operation.name not in ("READ", "DESCRIBE")]
    # it reads the canonical log and the shared refusals (/v1/status), never a partner's submissions
    assert {
        (r.resource.name, r.name, r.pattern.name) for r in rules if r.principal == "api" and r.operation.name == "READ"
    } == {("TOPIC", "praktijkleren.events", "LITERAL"), ("TOPIC", "praktijkleren.rejections", "LITERAL")}
    for name in (*toegang.COMPONENTS, "admin"):
        with pytest.raises(ValueError):
            toegang.check_partner_name(name)


def test_component_logins_rename_only_the_principal() -> None:
    logins = {c: f"{c}.t1" for c in toegang.COMPONENTS}
    renamed = toegang.component_rules("t1", "t1-validator", logins)
    plain = toegang.component_rules("t1", "t1-validator")
    assert [r.principal for r in renamed] == [logins[r.principal] for r in plain]
    assert [(r.resource, r.name, r.pattern, r.operation) for r in renamed] == [
        (r.resource, r.name, r.pattern, r.operation) for r in plain
    ]
    with pytest.raises(ValueError, match="not a component"):
        toegang.component_rules("t1", "t1-validator", {"admin": "x"})


def test_ops_broker_is_secured_by_default() -> None:
    script = (ROOT / "ops" / "kafka.sh").read_text()
    assert '"${PRAKTIJK_KAFKA_SECURITY:-sasl_scram}" = plaintext' in script
    for line in (
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "allow.everyone.if.no.acl.found=false",
        "super.users=User:admin",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "auto.create.topics.enable=false",
        "listeners=SASL_PLAINTEXT://127.0.0.1:",
    ):
        assert line in script, line


def test_a_cluster_bootstrap_in_one_list_item_is_split(env: pytest.MonkeyPatch) -> None:
    """``[stack.env's PRAKTIJK_KAFKA_BOOTSTRAP]`` of a three-node cluster: one string with commas inside a list."""
    env.setenv("PRAKTIJK_KAFKA_SECURITY", "plaintext")
    three = "127.0.0.1:9092,127.0.0.1:9093, 127.0.0.1:9094"
    want = ["127.0.0.1:9092", "127.0.0.1:9093", "127.0.0.1:9094"]
    assert client_config([three], settings_mod.load())["bootstrap_servers"] == want
    assert client_config(three, settings_mod.load())["bootstrap_servers"] == want
