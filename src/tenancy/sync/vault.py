"""Talk to Vault/OpenBao: connect, observe, apply, read KV. Shell (all of tenancy's Vault I/O).

- **Connect** like the vault CLI: VAULT_ADDR, VAULT_TOKEN, TLS verification on, VAULT_CACERT /
  VAULT_CAPATH / VAULT_CLIENT_CERT / VAULT_CLIENT_KEY / VAULT_SKIP_VERIFY honoured; or log in
  with Kubernetes auth from a service-account JWT file. The token never appears in a message,
  a repr or a log line: it lives only in the hvac adapter's request header.
- **Observe** reads only what is rendered or owned: one LIST per object type and at most one
  read per object (entity aliases come whole from one LIST, so they cost no read at all).
- **Apply** runs a plan's changes one by one. Ownership is recorded in tenancy's managed-objects
  index (KV v2) *before* anything is created, so an interrupted apply never leaves an object
  tenancy made but does not own; a failure stops at once and says what was and was not applied.
- Auth mounts are never enabled here: a missing kubernetes or oidc mount is an error that says
  how to enable it, since enabling an auth method is a platform decision, not a sync side effect.

Every request goes through `CountingAdapter`, which counts calls by HTTP method (the benchmark
reports them) and offers a `before_request` hook (tests use it to stop the server or revoke the
token at an exact point of an apply).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import hvac
import hvac.exceptions
import requests
from hvac.adapters import JSONAdapter

from tenancy.errors import BackendError, UsageError
from tenancy.sync import hcl
from tenancy.sync.plan import (
    KINDS,
    MANAGED_BY,
    OWNER,
    AuthRole,
    Change,
    Entity,
    EntityAlias,
    Group,
    Key,
    Kind,
    Observed,
    Plan,
    Policy,
    State,
    VaultObject,
    claimed,
    released,
)
from tenancy.sync.settings import VaultSettings

#: Values of VAULT_SKIP_VERIFY the vault CLI reads as true (Go's strconv.ParseBool).
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
READS = ("GET", "LIST")
INDEX_VERSION = 1


class CountingAdapter(JSONAdapter):
    """hvac's JSON adapter, counting requests by method."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counts: dict[str, int] = {}
        self.before_request: Callable[[str, str], None] | None = None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        verb = method.upper()
        self.counts[verb] = self.counts.get(verb, 0) + 1
        if self.before_request is not None:
            self.before_request(verb, url)
        return super().request(method, url, *args, **kwargs)

    @property
    def calls(self) -> int:
        return sum(self.counts.values())

    @property
    def reads(self) -> int:
        return sum(n for verb, n in self.counts.items() if verb in READS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """Where and how to connect. `token` is excluded from repr so it cannot leak into logs."""

    address: str
    token: str | None = field(default=None, repr=False)
    verify: bool | str = True
    cert: tuple[str, str] | None = None
    timeout: int = 30


def connection_from_env(address: str | None, env: Mapping[str, str]) -> Connection:
    """The vault CLI's environment variables, with `address` (from --vault-addr) first."""
    address = address or env.get("VAULT_ADDR")
    if not address:
        raise UsageError("no Vault address: set VAULT_ADDR or pass --vault-addr URL")
    verify: bool | str = True
    if env.get("VAULT_CACERT"):
        verify = env["VAULT_CACERT"]
    elif env.get("VAULT_CAPATH"):
        verify = env["VAULT_CAPATH"]
    if env.get("VAULT_SKIP_VERIFY", "") in _TRUE:
        verify = False
    cert = None
    if env.get("VAULT_CLIENT_CERT") and env.get("VAULT_CLIENT_KEY"):
        cert = (env["VAULT_CLIENT_CERT"], env["VAULT_CLIENT_KEY"])
    return Connection(
        address=address.rstrip("/"),
        token=env.get("VAULT_TOKEN") or None,
        verify=verify,
        cert=cert,
    )


def _reason(exc: Exception) -> str:
    """A message for a failed request: the server's own words, never a header or the token."""
    if isinstance(exc, hvac.exceptions.Forbidden):
        return "permission denied (the token is invalid, revoked or its policies do not allow this)"
    if isinstance(exc, hvac.exceptions.Unauthorized):
        return "unauthorized (no valid token)"
    if isinstance(exc, hvac.exceptions.VaultDown):
        return "Vault is sealed or unavailable"
    if isinstance(exc, hvac.exceptions.VaultError):
        errors = "; ".join(str(e) for e in exc.errors or ()) or str(exc.args[0] if exc.args else "")
        return f"{type(exc).__name__}: {errors}".rstrip(": ")
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS verification failed (set VAULT_CACERT to the server's CA)"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed (is the server running and VAULT_ADDR right?)"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


class Session:
    """One logged-in client: JSON in and out, 404 as None, every failure a BackendError."""

    def __init__(self, connection: Connection, adapter: CountingAdapter) -> None:
        self.address = connection.address
        self.adapter = adapter

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        try:
            kwargs: dict[str, Any] = {} if body is None else {"json": dict(body)}
            response = self.adapter.request(method, f"/v1/{path}", **kwargs)
        except hvac.exceptions.InvalidPath:
            return None
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            where = f"{method.upper()} {path} at {self.address}"
            raise BackendError(f"{where}: {_reason(exc)}") from None
        return response if isinstance(response, dict) else None

    def read(self, path: str) -> dict[str, Any] | None:
        response = self._call("get", path)
        return None if response is None else response.get("data")

    def list(self, path: str) -> dict[str, Any]:
        response = self._call("list", path)
        return (response or {}).get("data") or {}

    def write(self, path: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        response = self._call("post", path, body)
        return None if response is None else response.get("data")

    def delete(self, path: str) -> None:
        self._call("delete", path)


def connect(connection: Connection, settings: VaultSettings) -> Session:
    """A session with a checked token (VAULT_TOKEN, or a Kubernetes auth login)."""
    http = requests.Session()
    # requests re-reads the proxy variables from the environment on every request (a scan of
    # os.environ, ~0.5 ms: a third of a plan's time at 1,000 users). Read them once instead;
    # this also keeps ~/.netrc credentials out of requests to Vault.
    http.proxies.update(requests.utils.get_environ_proxies(connection.address))
    http.trust_env = False
    client = hvac.Client(
        url=connection.address,
        token=connection.token,
        verify=connection.verify,
        cert=connection.cert,
        timeout=connection.timeout,
        session=http,
        adapter=CountingAdapter,
    )
    adapter = client.adapter
    assert isinstance(adapter, CountingAdapter)  # hvac built it from the class given above
    session = Session(connection, adapter)
    if settings.login == "kubernetes":
        if not settings.login_role:
            raise UsageError("Kubernetes login needs a role: --k8s-role NAME (or vault.login.role)")
        try:
            jwt = Path(settings.jwt_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BackendError(
                f"cannot read the service-account JWT {settings.jwt_path}: {exc.strerror}"
            ) from None
        path = f"auth/{settings.login_mount}/login"
        login = session._call("post", path, {"role": settings.login_role, "jwt": jwt})
        if not login or not login.get("auth"):
            raise BackendError(f"Kubernetes login at {path} returned no token")
        adapter.token = login["auth"]["client_token"]
    elif not connection.token:
        raise UsageError("no Vault token: set VAULT_TOKEN, or log in with --k8s-role NAME")
    if session.read("auth/token/lookup-self") is None:
        raise BackendError(f"the token was not accepted by {connection.address}")
    return session


def _q(name: str) -> str:
    return quote(name, safe="")


# --- managed-objects index ----------------------------------------------------------------


def read_index(session: Session, settings: VaultSettings) -> frozenset[Key]:
    secret = session.read(f"{settings.index_mount}/data/{settings.index_path}")
    data = (secret or {}).get("data") or {}
    owned: set[Key] = set()
    for kind in KINDS:
        owned.update((kind, name) for name in str(data.get(kind) or "").splitlines() if name)
    return frozenset(owned)


def write_index(session: Session, settings: VaultSettings, owned: Iterable[Key]) -> None:
    """One newline-separated string per kind: the server refuses JSON with more than about
    a thousand strings in one request, and an index of 1,000 users holds ~4,500 names (names
    are validated object names and never contain a newline)."""
    names: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for kind, name in sorted(owned):
        names[kind].append(name)
    data: dict[str, str] = {MANAGED_BY: OWNER, "version": str(INDEX_VERSION)}
    data.update({kind: "\n".join(values) for kind, values in names.items()})
    session.write(f"{settings.index_mount}/data/{settings.index_path}", {"data": data})


# --- observe ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Observed state plus what only the shell needs: auth mount accessors."""

    observed: Observed
    accessors: Mapping[str, str]


def _names(keys: Iterable[Key], kind: Kind) -> set[str]:
    return {name for k, name in keys if k == kind}


def _pairs(values: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (values or {}).items()))


def auth_mounts(session: Session) -> dict[str, tuple[str, str]]:
    """Enabled auth methods: mount path (no trailing slash) -> (accessor, type)."""
    mounts = session.read("sys/auth") or {}
    return {
        path.rstrip("/"): (str(info.get("accessor", "")), str(info.get("type", "")))
        for path, info in mounts.items()
        if isinstance(info, dict)
    }


def observe(session: Session, desired: State, settings: VaultSettings) -> Snapshot:
    """Read the rendered and owned objects (nothing else) and the ownership index."""
    mounts = auth_mounts(session)
    needed = desired.mounts("auth-role") | desired.mounts("entity-alias")
    missing = sorted(needed - mounts.keys())
    if missing:
        hints = "; ".join(f"`bao auth enable -path={m} <type>`" for m in missing)
        raise BackendError(
            f"auth method mount(s) not enabled at {session.address}: {', '.join(missing)}. "
            f"tenancy does not enable auth methods; enable them first ({hints})"
        )
    index = read_index(session, settings)
    candidates = set(desired.objects) | index
    objects: dict[Key, VaultObject] = {}
    ids: dict[Key, str] = {}
    owned = set(index)

    policies = _names(candidates, "policy")
    if policies:
        existing = set(session.list("sys/policies/acl").get("keys") or ())
        for name in sorted(policies & existing):
            data = session.read(f"sys/policies/acl/{_q(name)}")
            if data is not None:
                objects[("policy", name)] = _policy(name, str(data.get("policy", "")))

    roles = [name.split("/", 1) for name in _names(candidates, "auth-role")]
    for mount in sorted({m for m, _ in roles}):
        existing = set(session.list(f"auth/{mount}/role").get("keys") or ())
        for role in sorted(r for m, r in roles if m == mount and r in existing):
            data = session.read(f"auth/{mount}/role/{_q(role)}")
            if data is not None:
                objects[("auth-role", f"{mount}/{role}")] = _auth_role(mount, role, data)

    entity_names: dict[str, str] = {}
    if _names(candidates, "entity") or _names(candidates, "entity-alias"):
        info = session.list("identity/entity/id").get("key_info") or {}
        entity_names = {eid: str(v.get("name", "")) for eid, v in info.items()}
    for name in sorted(_names(candidates, "entity") & set(entity_names.values())):
        data = session.read(f"identity/entity/name/{_q(name)}")
        if data is None:
            continue
        entity = Entity(
            name=name,
            policies=tuple(sorted(data.get("policies") or ())),
            metadata=_pairs(data.get("metadata")),
        )
        objects[("entity", name)] = entity
        ids[("entity", name)] = str(data["id"])
        if (MANAGED_BY, OWNER) in entity.metadata:
            owned.add(("entity", name))  # ownership recorded on the object itself

    aliases = _names(candidates, "entity-alias")
    if aliases:
        info = session.list("identity/entity-alias/id").get("key_info") or {}
        for alias_id, value in info.items():
            mount = str(value.get("mount_path", "")).removeprefix("auth/").rstrip("/")
            alias = EntityAlias(
                mount=mount,
                alias=str(value.get("name", "")),
                entity=entity_names.get(str(value.get("canonical_id", ""))),
            )
            if alias.name in aliases:
                objects[("entity-alias", alias.name)] = alias
                ids[("entity-alias", alias.name)] = str(alias_id)

    groups = _names(candidates, "group")
    if groups:
        existing = set(session.list("identity/group/name").get("keys") or ())
        for name in sorted(groups & existing):
            data = session.read(f"identity/group/name/{_q(name)}")
            if data is not None:
                objects[("group", name)] = Group(
                    name=name,
                    type=str(data.get("type", "internal")),
                    policies=tuple(sorted(data.get("policies") or ())),
                    metadata=_pairs(data.get("metadata")),
                )
    return Snapshot(
        observed=Observed(objects=objects, owned=frozenset(owned), ids=ids),
        accessors={mount: accessor for mount, (accessor, _) in mounts.items()},
    )


def _policy(name: str, text: str) -> Policy:
    try:
        return Policy(name=name, rules=hcl.parse(text), text=text)
    except hcl.HclError as exc:
        return Policy(name=name, rules=(), text=text, unreadable=str(exc))


def _auth_role(mount: str, role: str, data: Mapping[str, Any]) -> AuthRole:
    audience = data.get("audience") or ""
    return AuthRole(
        mount=mount,
        role=role,
        bound_service_account_names=tuple(sorted(data.get("bound_service_account_names") or ())),
        bound_service_account_namespaces=tuple(
            sorted(data.get("bound_service_account_namespaces") or ())
        ),
        audience=str(audience),
        policies=tuple(sorted(data.get("token_policies") or data.get("policies") or ())),
        token_ttl=int(data.get("token_ttl") or 0),
        token_max_ttl=int(data.get("token_max_ttl") or 0),
    )


# --- apply --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    done: tuple[Change, ...]
    skipped: tuple[Change, ...]


def _execute(
    session: Session,
    change: Change,
    ids: dict[Key, str],
    accessors: Mapping[str, str],
) -> None:
    obj = change.after if change.action != "delete" else change.before
    if isinstance(obj, Policy):
        path = f"sys/policies/acl/{_q(obj.name)}"
        if change.action == "delete":
            session.delete(path)
        else:
            session.write(path, {"policy": obj.text})
    elif isinstance(obj, AuthRole):
        path = f"auth/{obj.mount}/role/{_q(obj.role)}"
        if change.action == "delete":
            session.delete(path)
        else:
            session.write(
                path,
                {
                    "bound_service_account_names": list(obj.bound_service_account_names),
                    "bound_service_account_namespaces": list(obj.bound_service_account_namespaces),
                    "audience": obj.audience,
                    "token_policies": list(obj.policies),
                    "token_ttl": obj.token_ttl,
                    "token_max_ttl": obj.token_max_ttl,
                },
            )
    elif isinstance(obj, Entity):
        path = f"identity/entity/name/{_q(obj.name)}"
        if change.action == "delete":
            session.delete(path)
            ids.pop(change.key, None)
        else:
            data = session.write(
                path, {"policies": list(obj.policies), "metadata": dict(obj.metadata)}
            )
            if data and data.get("id"):  # a create answers with the new ID, an update with 204
                ids[change.key] = str(data["id"])
    elif isinstance(obj, EntityAlias):
        _execute_alias(session, change, obj, ids, accessors)
    elif isinstance(obj, Group):
        path = f"identity/group/name/{_q(obj.name)}"
        if change.action == "delete":
            session.delete(path)
        else:
            session.write(
                path,
                {"type": obj.type, "policies": list(obj.policies), "metadata": dict(obj.metadata)},
            )


def _execute_alias(
    session: Session,
    change: Change,
    alias: EntityAlias,
    ids: dict[Key, str],
    accessors: Mapping[str, str],
) -> None:
    alias_id = ids.get(change.key)
    if change.action == "delete":
        if alias_id is not None:
            session.delete(f"identity/entity-alias/id/{_q(alias_id)}")
        return
    entity_id = ids.get(("entity", alias.entity or ""))
    if entity_id is None:
        raise BackendError(f"entity {alias.entity!r} of alias {alias.name} has no ID on the server")
    body = {
        "name": alias.alias,
        "mount_accessor": accessors[alias.mount],
        "canonical_id": entity_id,
    }
    if alias_id is None:
        data = session.write("identity/entity-alias", body)
        if data and data.get("id"):
            ids[change.key] = str(data["id"])
    else:
        session.write(f"identity/entity-alias/id/{_q(alias_id)}", body)


def _list(changes: Iterable[Change], limit: int = 5) -> str:
    items = [f"{c.action} {c.kind} {c.name}" for c in changes]
    if not items:
        return "none"
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def apply(
    session: Session,
    plan: Plan,
    snapshot: Snapshot,
    settings: VaultSettings,
    *,
    progress: Callable[[Change], None] | None = None,
) -> Applied:
    """Carry out the plan's runnable changes in order; blocked ones are returned as skipped."""
    runnable = plan.runnable
    owned = snapshot.observed.owned
    claim = claimed(plan, owned)
    if claim != owned:
        try:
            write_index(session, settings, claim)
        except BackendError as exc:
            raise BackendError(
                f"{exc}. Nothing was applied: recording tenancy's ownership in "
                f"{settings.index_mount}/{settings.index_path} failed first"
            ) from None
    ids = dict(snapshot.observed.ids)
    done: list[Change] = []
    for position, change in enumerate(runnable):
        try:
            _execute(session, change, ids, snapshot.accessors)
        except BackendError as exc:
            rest = runnable[position:]
            raise BackendError(
                f"{exc}. vault apply stopped at change {position + 1} of {len(runnable)} "
                f"({change.action} {change.kind} {change.name}). "
                f"Applied {len(done)}: {_list(done)}. Not applied {len(rest)}: {_list(rest)}. "
                "Ownership of every planned object was recorded first, so running "
                "`tenancy vault apply` again converges"
            ) from None
        done.append(change)
        if progress is not None:
            progress(change)
    final = released(claim, plan, done)
    if final != claim:
        try:
            write_index(session, settings, final)
        except BackendError as exc:
            raise BackendError(
                f"{exc}. All {len(done)} changes were applied, but the ownership index could "
                "not be updated; running `tenancy vault apply` again tidies it"
            ) from None
    return Applied(done=tuple(done), skipped=plan.blocked)


# --- KV (k8s_users) -----------------------------------------------------------------------


def read_kv(session: Session, mount: str, path: str) -> dict[str, Any] | None:
    """The data of a KV v2 secret (latest version), or None when there is none."""
    secret = session.read(f"{mount}/data/{path}")
    if secret is None:
        return None
    data = secret.get("data")
    return data if isinstance(data, dict) else None


def environment() -> dict[str, str]:
    """The process environment (one place, so tests can see what is read)."""
    return dict(os.environ)
