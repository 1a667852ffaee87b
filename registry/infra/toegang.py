"""Who may do what on Kafka: SCRAM principals and the ACLs of partners and the registry's components.

Everything here is idempotent: creating an ACL that exists is a no-op for the broker, an upserted
SCRAM credential replaces the old one (a rotated password).

- partner ``P``: WRITE / DESCRIBE on ``<prefix>.ingress.P`` (IDEMPOTENT_WRITE on the cluster for the
  idempotent producer), READ / DESCRIBE on ``<prefix>.rejections.P`` only; no create, no delete;
- ``validator``: reads every ingress topic, reads and writes the canonical log, the rejection topics
  (the shared one and every ``rejections.P``), dead letters and the parked topic; its consumer group
  and transactional ids; finds and aborts hanging transactions (describes the reconciler's transactional ids and
  its own group's ``__consumer_offsets`` partition; CLUSTER_ACTION for the abort marker);
- ``projector``: reads the canonical log and rejections, its ``praktijkregister-projection-*`` groups;
- ``reconciler``: reads the canonical log, writes its ``ReconciliatieUitgevoerd`` there, its group;
- ``api``: reads the canonical log and the shared rejections topic (``/v1/status`` looks past commit markers),
  describes the ingress topics and the groups it reports lag for; never writes, never reads a submission.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from registry.infra.kafka import ADMIN, client_config
from registry.infra.topics import Topics, check_partner

COMPONENTS = ("validator", "projector", "reconciler", "api")
RESERVED = frozenset(COMPONENTS) | {ADMIN}
PROJECTION_GROUPS = "praktijkregister-projection-"
RECONCILER_GROUP = "praktijkregister-reconciler"

_LIT, _PRE = ACLResourcePatternType.LITERAL, ACLResourcePatternType.PREFIXED
Op = ACLOperation


class ToegangError(RuntimeError):
    """The broker refused a credential or ACL change (the message says which)."""


@dataclass(frozen=True)
class Regel:
    """One ALLOW rule: principal name, resource type, name, pattern, operation."""

    principal: str
    resource: ResourceType
    name: str
    pattern: ACLResourcePatternType
    operation: ACLOperation

    def acl(self) -> ACL:
        return ACL(
            principal=f"User:{self.principal}",
            host="*",
            operation=self.operation,
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(self.resource, self.name, self.pattern),
        )


def _topic(who: str, name: str, *ops: ACLOperation, pattern: ACLResourcePatternType = _LIT) -> list[Regel]:
    return [Regel(who, ResourceType.TOPIC, name, pattern, op) for op in ops]


def _group(who: str, name: str, *ops: ACLOperation, pattern: ACLResourcePatternType = _LIT) -> list[Regel]:
    return [Regel(who, ResourceType.GROUP, name, pattern, op) for op in ops]


def _cluster(who: str, op: ACLOperation) -> Regel:
    return Regel(who, ResourceType.CLUSTER, "kafka-cluster", _LIT, op)


def check_partner_name(partner: str) -> str:
    check_partner(partner)
    if partner in RESERVED:
        raise ValueError(f"{partner!r} is the name of a registry component, not a partner")
    return partner


def partner_rules(partner: str, prefix: str = "praktijkleren") -> list[Regel]:
    t = Topics(prefix)
    check_partner_name(partner)
    return (
        _topic(partner, t.ingress(partner), Op.WRITE, Op.DESCRIBE)
        + [_cluster(partner, Op.IDEMPOTENT_WRITE)]
        + _topic(partner, t.rejections_of(partner), Op.READ, Op.DESCRIBE)
    )


def component_rules(
    prefix: str = "praktijkleren",
    validator_group: str = "praktijkregister-validator",
    logins: Mapping[str, str] | None = None,
) -> list[Regel]:
    """The rules of every component; ``logins`` renames a component's principal (default: its own name), so a
    test can give each component a login of its own without touching the broker-wide ``validator`` & co."""
    t = Topics(prefix)
    rules = _component_rules(t, validator_group)
    if not logins:
        return rules
    unknown = set(logins) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"not a component: {', '.join(sorted(unknown))}")
    return [replace(r, principal=logins.get(r.principal, r.principal)) for r in rules]


def _component_rules(t: Topics, validator_group: str) -> list[Regel]:
    v = ("validator", Op.READ, Op.WRITE, Op.DESCRIBE)
    # DELETE on ingress: after an erasure the validator deletes the validated records there (DeleteRecords)
    rules = (
        _topic("validator", t.ingress_prefix, Op.READ, Op.DESCRIBE, Op.DELETE, pattern=_PRE)
        + [r for name in (t.events, t.deadletter, t.parked) for r in _topic(v[0], name, *v[1:])]
        + _topic("validator", t.rejections, *v[1:], pattern=_PRE)  # the shared topic and every rejections.P
        + _group("validator", validator_group, Op.READ, Op.DESCRIBE)
        + [
            Regel("validator", ResourceType.TRANSACTIONAL_ID, validator_group, _PRE, op)
            for op in (Op.WRITE, Op.DESCRIBE)
        ]
        + [_cluster("validator", Op.IDEMPOTENT_WRITE)]
        # hanging transactions (registry/infra/hangende_transacties.py): the open transactions of its own group's
        # offsets partition (DescribeProducers: READ), the coordinator's view of the reconciler's transactions
        # too (a live one must never look unknown), and the abort itself (WriteTxnMarkers: CLUSTER_ACTION)
        + _topic("validator", "__consumer_offsets", Op.READ, Op.DESCRIBE)
        + [Regel("validator", ResourceType.TRANSACTIONAL_ID, RECONCILER_GROUP, _PRE, Op.DESCRIBE)]
        + [_cluster("validator", Op.CLUSTER_ACTION)]
    )
    rules += (
        _topic("projector", t.events, Op.READ, Op.DESCRIBE)
        + _topic("projector", t.rejections, Op.READ, Op.DESCRIBE)
        + _group("projector", PROJECTION_GROUPS, Op.READ, Op.DESCRIBE, pattern=_PRE)
    )
    rules += (
        _topic("reconciler", t.events, Op.READ, Op.WRITE, Op.DESCRIBE)
        + _group("reconciler", RECONCILER_GROUP, Op.READ, Op.DESCRIBE, pattern=_PRE)
        # follow mode: one transaction per telling with the group's offsets (several instances)
        + [
            Regel("reconciler", ResourceType.TRANSACTIONAL_ID, RECONCILER_GROUP, _PRE, op)
            for op in (Op.WRITE, Op.DESCRIBE)
        ]
        + [_cluster("reconciler", Op.IDEMPOTENT_WRITE)]
    )
    # READ on the shared rejections topic: /v1/status peeks past its commit markers for a projection's lag
    rules += (
        _topic("api", t.events, Op.READ, Op.DESCRIBE)
        + _topic("api", t.rejections, Op.READ, Op.DESCRIBE)
        + _topic("api", t.ingress_prefix, Op.DESCRIBE, pattern=_PRE)
        + _group("api", validator_group, Op.DESCRIBE)
        + _group("api", PROJECTION_GROUPS, Op.DESCRIBE, pattern=_PRE)
    )
    return rules


def admin_client(bootstrap: Iterable[str] | str, **overrides: Any) -> KafkaAdminClient:
    return KafkaAdminClient(**client_config(bootstrap, **overrides), client_id="praktijkregister-admin")


def apply(admin: KafkaAdminClient, rules: Iterable[Regel]) -> int:
    """Create the ACLs (existing ones are left as they are); returns how many were asked for."""
    acls = [r.acl() for r in rules]
    if not acls:
        return 0
    result = admin.create_acls(acls)
    if result["failed"]:
        raise ToegangError(f"the broker refused {len(result['failed'])} ACL(s): {result['failed'][0]}")
    return len(acls)


def set_password(admin: KafkaAdminClient, user: str, password: str | None = None) -> str:
    """Create or rotate ``user``'s SCRAM-SHA-512 credential; returns the (new) password."""
    secret = password or secrets.token_urlsafe(32)
    errors = admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, ScramMechanism.SCRAM_SHA_512, secret)]
    )
    if errors.get(user):
        raise ToegangError(f"cannot set the SCRAM credential of {user!r}: {errors[user]}")
    return secret


def users(admin: KafkaAdminClient) -> list[str]:
    """Every principal with a SCRAM credential."""
    return sorted(admin.describe_user_scram_credentials())


def remove(admin: KafkaAdminClient, user: str) -> tuple[bool, int]:
    """Delete ``user``'s credential and every ACL naming it: (had a credential, ACLs removed)."""
    had = user in users(admin)
    if had:
        errors = admin.alter_user_scram_credentials([UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)])
        if errors.get(user):
            raise ToegangError(f"cannot delete the SCRAM credential of {user!r}: {errors[user]}")
    flt = ACLFilter(
        principal=f"User:{user}",
        host=None,
        operation=Op.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    removed = sum(len(matched) for _f, matched, _err in admin.delete_acls([flt]))
    return had, removed
