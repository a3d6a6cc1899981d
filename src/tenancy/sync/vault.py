"""Talk to Vault/OpenBao: connect, observe, apply, read KV. Shell (all of tenancy's Vault I/O).

- **Connect** like the vault CLI: VAULT_ADDR, VAULT_TOKEN, TLS verification on, VAULT_CACERT /
  VAULT_CAPATH / VAULT_CLIENT_CERT / VAULT_CLIENT_KEY / VAULT_SKIP_VERIFY honoured; or log in
  with Kubernetes auth from a service-account JWT file. The token never appears in a message,
  a repr or a log line: it lives only in the hvac adapter's request header (surrounding
  whitespace stripped; a token no header can carry is refused without being shown).
- **Answers** are checked: anything but the JSON Vault gives (an HTML page with status 200
  from a proxy, a `key_info` of strings) is an error, never read as "nothing exists".
- **Observe** reads only what is rendered or owned: one LIST per object type and at most one
  read per object (entity aliases come whole from one LIST, so they cost no read at all).
  Identity objects are matched as Vault matches them: entity, group and alias names without
  case.
- **Ownership** is tenancy's managed-objects index (KV v2), one field per object: policies and
  auth roles by name (their names are their identity), entities, aliases and groups by the
  server's ID (an alias also by its mount accessor). A field is written only after the change
  that makes it true succeeded (a KV merge-patch of that one field), so a name never makes an
  object tenancy's: an object of a recorded name that has another ID is someone else's. A
  failure stops at once and says what was and was not applied.
- Mounts are never enabled here: a missing kubernetes or oidc auth mount, or a missing
  Kubernetes secrets engine, is an error that says how to enable it, since enabling an auth
  method or a secrets engine (and configuring its access to the cluster) is a platform
  decision, not a sync side effect.

Every request goes through `CountingAdapter`, which counts calls by HTTP method (the benchmark
reports them) and offers a `before_request` hook (tests use it to stop the server or revoke the
token at an exact point of an apply).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import hvac
import hvac.exceptions
import requests
from hvac.adapters import JSONAdapter

from tenancy.errors import BackendError, UsageError
from tenancy.sync import hcl
from tenancy.sync.plan import (
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
    SecretRole,
    State,
    VaultObject,
    fold,
)
from tenancy.sync.settings import VaultSettings

#: Values of VAULT_SKIP_VERIFY the vault CLI reads as true (Go's strconv.ParseBool).
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
READS = ("GET", "LIST")
INDEX_VERSION = 2
#: Fields per index write: the server refuses a request of more than about a thousand JSON
#: strings (max_request_json_strings), and each field is two (its name and its value).
INDEX_CHUNK = 400
#: Identity objects are recorded in the index by their server ID.
IDENTITY: tuple[Kind, ...] = ("entity", "entity-alias", "group")


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


def _address(address: str) -> str:
    """VAULT_ADDR checked as a URL the client can use (a usage error, never a traceback)."""
    address = address.strip()
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        host = parts.hostname
    except ValueError as exc:
        raise UsageError(
            f"VAULT_ADDR (or --vault-addr) {address!r} is not a valid URL: {exc}"
        ) from None
    if parts.scheme not in ("http", "https") or not host:
        raise UsageError(
            f"VAULT_ADDR (or --vault-addr) {address!r} is not an http:// or https:// URL "
            "with a host, such as https://vault.example.org:8200"
        )
    return address.rstrip("/")


def _token(value: str | None) -> str | None:
    """VAULT_TOKEN without surrounding whitespace (a token pasted from a file ends with a
    newline). A token with any other character a header cannot carry is refused, unshown."""
    token = (value or "").strip()
    if not token:
        return None
    if any(not 0x21 <= ord(c) <= 0x7E for c in token):
        raise UsageError(
            "VAULT_TOKEN holds a character no token has (a control character, a space or a "
            "non-ASCII letter inside it); the token is not shown. Set it to the token alone"
        )
    return token


def connection_from_env(address: str | None, env: Mapping[str, str]) -> Connection:
    """The vault CLI's environment variables, with `address` (from --vault-addr) first."""
    address = address or env.get("VAULT_ADDR")
    if not address or not address.strip():
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
        address=_address(address),
        token=_token(env.get("VAULT_TOKEN")),
        verify=verify,
        cert=cert,
    )


def _reason(exc: Exception) -> str:
    """A message for a failed request: the server's own words, never a header or the token.

    Exceptions of the HTTP stack may quote what was sent (requests' InvalidHeader quotes the
    header value, which is the token): only their type is shown."""
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
        # OpenSSL's words when the answer to a TLS hello is not TLS at all: a plain-HTTP
        # server (1.1: "wrong version number", 3.x: "record layer failure"). Only matched,
        # never shown: the exception's text is the HTTP stack's.
        text = str(exc).lower()
        if any(w in text for w in ("wrong_version_number", "wrong version number", "record layer")):
            return (
                "the server answered in plain HTTP, not TLS: VAULT_ADDR names https:// but the "
                "server speaks http:// (use an http:// address, or enable TLS on the server)"
            )
        return "TLS verification failed (set VAULT_CACERT to the server's CA)"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed (is the server running and VAULT_ADDR right?)"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    return f"the request could not be made ({type(exc).__name__})"


def _not_json(where: str, response: Any) -> BackendError:
    status = getattr(response, "status_code", "?")
    kind = getattr(response, "headers", {}).get("Content-Type", "no content type")
    return BackendError(
        f"{where}: the answer is not the JSON Vault gives (HTTP {status}, {kind}); is "
        "VAULT_ADDR the Vault API itself, not a proxy's or a login page? Nothing was changed "
        "on the strength of it"
    )


class Session:
    """One logged-in client: JSON in and out, 404 as None, every failure a BackendError."""

    def __init__(self, connection: Connection, adapter: CountingAdapter) -> None:
        self.address = connection.address
        self.adapter = adapter

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        where = f"{method.upper()} {path} at {self.address}"
        try:
            kwargs: dict[str, Any] = {} if body is None else {"json": dict(body)}
            if headers:
                kwargs["headers"] = dict(headers)
            response = self.adapter.request(method, f"/v1/{path}", **kwargs)
        except hvac.exceptions.InvalidPath as exc:
            if exc.json is None and (exc.text or "").strip():
                raise _not_json(where, None) from None  # a 404 page, not Vault's 404
            return None
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            raise BackendError(f"{where}: {_reason(exc)}") from None
        if isinstance(response, dict):
            return response
        if isinstance(response, requests.Response) and response.status_code == 204:
            return None  # no content: what a write that returns nothing answers
        raise _not_json(where, response)

    def read(self, path: str) -> dict[str, Any] | None:
        response = self._call("get", path)
        if response is None:
            return None
        data = response.get("data")
        if data is not None and not isinstance(data, dict):
            raise _shape(f"GET {path}", "data", data)
        return data

    def list(self, path: str) -> dict[str, Any]:
        """A LIST's data: `keys` a list of strings, `key_info` (when given) objects by key."""
        response = self._call("list", path)
        data = (response or {}).get("data") or {}
        if not isinstance(data, dict):
            raise _shape(f"LIST {path}", "data", data)
        keys = data.get("keys") or []
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise _shape(f"LIST {path}", "keys", keys)
        info = data.get("key_info") or {}
        if not isinstance(info, dict) or not all(isinstance(v, dict) for v in info.values()):
            raise _shape(f"LIST {path}", "key_info", info)
        return data

    def write(self, path: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        response = self._call("post", path, body)
        return None if response is None else response.get("data")

    def patch(self, path: str, body: Mapping[str, Any]) -> None:
        self._call("patch", path, body, headers={"Content-Type": "application/merge-patch+json"})

    def delete(self, path: str) -> None:
        self._call("delete", path)


def _shape(where: str, name: str, value: Any) -> BackendError:
    return BackendError(
        f"{where}: the answer's `{name}` is a {type(value).__name__}, not what Vault gives "
        f"(the API answers {name} as {'a list of strings' if name == 'keys' else 'JSON objects'})"
    )


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
        auth = login.get("auth") if login else None
        if not isinstance(auth, dict) or not isinstance(auth.get("client_token"), str):
            raise BackendError(f"Kubernetes login at {path} returned no token")
        adapter.token = auth["client_token"]
    elif not connection.token:
        raise UsageError("no Vault token: set VAULT_TOKEN, or log in with --k8s-role NAME")
    if session.read("auth/token/lookup-self") is None:
        raise BackendError(f"the token was not accepted by {connection.address}")
    return session


def _q(name: str) -> str:
    return quote(name, safe="")


# --- managed-objects index ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Index:
    """tenancy's ownership record: one field per owned object (see `field_name`).

    `version` is None when there is no index yet; 1 is an earlier tenancy's (names only: its
    policy and auth-role names are kept, its identity names are not trusted, since a name
    does not say which object tenancy made; those objects show as conflicts until adopted)."""

    fields: Mapping[str, str]
    version: int | None


def field_name(kind: Kind, ident: str) -> str:
    """`policy:<name>`, `auth-role:<mount>/<role>`, `secret-role:<mount>/<role>`,
    `entity:<id>`, `entity-alias:<id>`, `group:<id>`."""
    return f"{kind}:{ident}"


def read_index(session: Session, settings: VaultSettings) -> Index:
    secret = session.read(f"{settings.index_mount}/data/{settings.index_path}")
    if secret is None:
        return Index(fields={}, version=None)
    data = secret.get("data") or {}
    if not isinstance(data, dict) or data.get(MANAGED_BY) != OWNER:
        raise BackendError(
            f"{settings.index_mount}/{settings.index_path} exists but is not tenancy's "
            "ownership index (no managed-by: tenancy); move it, or set vault.index.path"
        )
    version = str(data.get("version", ""))
    if version == "1":
        fields = {
            field_name(kind, name): "owned"
            for kind in ("policy", "auth-role")
            for name in str(data.get(kind) or "").splitlines()
            if name
        }
        return Index(fields=fields, version=1)
    if version != str(INDEX_VERSION):
        raise BackendError(
            f"{settings.index_mount}/{settings.index_path} is a version {version!r} index, "
            f"which this tenancy does not read (it reads {INDEX_VERSION}): upgrade tenancy"
        )
    fields = {
        str(k): str(v)
        for k, v in data.items()
        if isinstance(k, str) and ":" in k and isinstance(v, str)
    }
    return Index(fields=fields, version=INDEX_VERSION)


class IndexWriter:
    """Writes index fields as changes succeed: a merge-patch per change (only that field)."""

    def __init__(self, session: Session, settings: VaultSettings, index: Index) -> None:
        self.session = session
        self.path = f"{settings.index_mount}/data/{settings.index_path}"
        self.shown = f"{settings.index_mount}/{settings.index_path}"
        self.index = index
        self.ready = index.version == INDEX_VERSION

    def _patch(self, fields: Mapping[str, str | None]) -> None:
        items = sorted(fields.items())
        for start in range(0, len(items), INDEX_CHUNK):
            self.session.patch(self.path, {"data": dict(items[start : start + INDEX_CHUNK])})

    def record(self, fields: Mapping[str, str | None]) -> None:
        """Set (a value) or drop (None) fields of the index. The first write of a missing (or
        version 1) index writes it whole, in chunks: a merge-patch needs the secret to exist."""
        if not fields:
            return
        if self.ready:
            self._patch(fields)
            return
        merged = {k: v for k, v in {**self.index.fields, **fields}.items() if v is not None}
        items = sorted(merged.items())
        base = {MANAGED_BY: OWNER, "version": str(INDEX_VERSION)}
        self.session.write(self.path, {"data": {**base, **dict(items[:INDEX_CHUNK])}})
        self.ready = True
        self._patch(dict(items[INDEX_CHUNK:]))


def _alias_record(alias: EntityAlias, accessor: str) -> str:
    return json.dumps({"name": alias.name, "accessor": accessor}, sort_keys=True)


# --- observe ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Observed state plus what only the shell needs: auth mount accessors, the index read,
    its fields whose objects are gone, and the ID of every alias on the server."""

    observed: Observed
    accessors: Mapping[str, str]
    index: Index = field(default_factory=lambda: Index(fields={}, version=None))
    stale: frozenset[str] = frozenset()
    alias_ids: frozenset[str] = frozenset()


def _names(keys: Iterable[Key], kind: Kind) -> set[str]:
    return {name for k, name in keys if k == kind}


def _pairs(values: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if not isinstance(values, Mapping):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in values.items()))


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(sorted(str(v) for v in values)) if isinstance(values, list) else ()


def auth_mounts(session: Session) -> dict[str, tuple[str, str]]:
    """Enabled auth methods: mount path (no trailing slash) -> (accessor, type)."""
    mounts = session.read("sys/auth") or {}
    return {
        path.rstrip("/"): (str(info.get("accessor", "")), str(info.get("type", "")))
        for path, info in mounts.items()
        if isinstance(info, dict)
    }


def secrets_mounts(session: Session) -> dict[str, str]:
    """Enabled secrets engines: mount path (no trailing slash) -> type."""
    mounts = session.read("sys/mounts") or {}
    return {
        path.rstrip("/"): str(info.get("type", ""))
        for path, info in mounts.items()
        if isinstance(info, dict)
    }


def _owned_ids(index: Index, kind: Kind) -> dict[str, str]:
    prefix = f"{kind}:"
    return {k.removeprefix(prefix): v for k, v in index.fields.items() if k.startswith(prefix)}


@dataclass(frozen=True, slots=True)
class _Found:
    """What `observe` found of one identity kind: the objects by the key they are planned
    under, their server IDs, those tenancy owns, and the index fields whose objects are gone."""

    objects: dict[Key, VaultObject]
    ids: dict[Key, str]
    owned: set[Key]
    stale: set[str]


def observe(session: Session, desired: State, settings: VaultSettings) -> Snapshot:
    """Read the rendered and owned objects (nothing else) and the ownership index."""
    mounts = auth_mounts(session)
    _require_mounts(session, desired, mounts)
    index = read_index(session, settings)
    owned: set[Key] = set()
    for kind in ("policy", "auth-role", "secret-role"):
        owned.update((kind, name) for name in _owned_ids(index, kind))
    named = _read_named(session, set(desired.objects) | owned)
    owned_entities = _owned_ids(index, "entity")
    owned_aliases = _owned_ids(index, "entity-alias")
    entity_names, all_aliases = _list_identities(session, desired, owned_entities, owned_aliases)
    entity_keys = _entity_keys(entity_names, owned_entities, _names(desired.objects, "entity"))
    entities, group_names = _read_entities(
        session, entity_keys, owned_entities, entity_names, all_aliases
    )
    aliases = _match_aliases(desired, all_aliases, owned_aliases, entity_names, entity_keys)
    groups = _read_groups(session, desired, _owned_ids(index, "group"), group_names)
    return Snapshot(
        observed=Observed(
            objects={**named, **entities.objects, **aliases.objects, **groups.objects},
            owned=frozenset(owned | entities.owned | aliases.owned | groups.owned),
            ids={**entities.ids, **aliases.ids, **groups.ids},
        ),
        accessors={mount: accessor for mount, (accessor, _) in mounts.items()},
        index=index,
        stale=frozenset(entities.stale | aliases.stale | groups.stale),
        alias_ids=frozenset(all_aliases),
    )


def _require_mounts(
    session: Session, desired: State, mounts: Mapping[str, tuple[str, str]]
) -> None:
    """Refuse to go on when a mount the rendered objects live on is missing: enabling one is
    a platform decision (see the module docstring), so the message says how instead."""
    needed = desired.mounts("auth-role") | desired.mounts("entity-alias")
    missing = sorted(needed - mounts.keys())
    if missing:
        hints = "; ".join(f"`bao auth enable -path={m} <type>`" for m in missing)
        raise BackendError(
            f"auth method mount(s) not enabled at {session.address}: {', '.join(missing)}. "
            f"tenancy does not enable auth methods; enable them first ({hints})"
        )
    engines = desired.mounts("secret-role")
    if engines:
        enabled = secrets_mounts(session)
        absent = sorted(m for m in engines if enabled.get(m) != "kubernetes")
        if absent:
            hints = "; ".join(f"`bao secrets enable -path={m} kubernetes`" for m in absent)
            raise BackendError(
                f"Kubernetes secrets engine not enabled at {session.address}: "
                f"{', '.join(absent)}. tenancy does not enable secrets engines; enable and "
                f"configure them first ({hints})"
            )


def _read_named(session: Session, candidates: set[Key]) -> dict[Key, VaultObject]:
    """The policies, auth roles and secrets-engine roles among `candidates` that exist."""
    objects: dict[Key, VaultObject] = {}
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

    # Secrets-engine roles, like auth roles: their name is their identity, so the index
    # records them by name, and one LIST per mount finds which exist.
    engine_roles = [name.split("/", 1) for name in _names(candidates, "secret-role")]
    for mount in sorted({m for m, _ in engine_roles}):
        existing = set(session.list(f"{mount}/roles").get("keys") or ())
        for role in sorted(r for m, r in engine_roles if m == mount and r in existing):
            data = session.read(f"{mount}/roles/{_q(role)}")
            if data is not None:
                objects[("secret-role", f"{mount}/{role}")] = _secret_role(mount, role, data)
    return objects


def _list_identities(
    session: Session,
    desired: State,
    owned_entities: Mapping[str, str],
    owned_aliases: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, Mapping[str, Any]]]:
    """Every entity's name by ID and every alias by ID, each from one LIST, made only when
    rendered or owned identity objects need it."""
    wanted_entities = _names(desired.objects, "entity")
    wanted_aliases = _names(desired.objects, "entity-alias")
    entity_names: dict[str, str] = {}
    if wanted_entities or wanted_aliases or owned_entities or owned_aliases:
        info = session.list("identity/entity/id").get("key_info") or {}
        entity_names = {eid: str(v.get("name", "")) for eid, v in info.items()}
    all_aliases: dict[str, Mapping[str, Any]] = {}
    if entity_names or wanted_aliases or owned_aliases:
        all_aliases = session.list("identity/entity-alias/id").get("key_info") or {}
    return entity_names, all_aliases


def _entity_keys(
    entity_names: Mapping[str, str], owned_entities: Mapping[str, str], wanted: set[str]
) -> dict[str, str]:
    """Entity ID -> the name it is planned under, for the entities rendered or owned: a
    rendered name matches the server's without case; an owned ID is tenancy's."""
    wanted_fold = {name.casefold(): name for name in wanted}
    entity_keys: dict[str, str] = {}
    for eid, name in entity_names.items():
        if eid in owned_entities:
            entity_keys[eid] = wanted_fold.get(name.casefold(), name)
        elif name.casefold() in wanted_fold:
            entity_keys[eid] = wanted_fold[name.casefold()]
    return entity_keys


def _read_entities(
    session: Session,
    entity_keys: Mapping[str, str],
    owned_entities: Mapping[str, str],
    entity_names: Mapping[str, str],
    all_aliases: Mapping[str, Mapping[str, Any]],
) -> tuple[_Found, dict[str, str] | None]:
    """Each entity of `entity_keys`, read once, with its aliases and groups (what a delete
    cascades to); and every group's name by ID, when an entity's groups needed the LIST."""
    by_entity: dict[str, list[tuple[str, str]]] = {}
    for value in all_aliases.values():
        by_entity.setdefault(str(value.get("canonical_id", "")), []).append(
            (_mount_of(value), str(value.get("name", "")))
        )
    objects: dict[Key, VaultObject] = {}
    ids: dict[Key, str] = {}
    unread: set[Key] = set()
    group_names: dict[str, str] | None = None
    for eid, key_name in sorted(entity_keys.items(), key=lambda item: item[1]):
        data = session.read(f"identity/entity/id/{_q(eid)}")
        if data is None:
            unread.add(("entity", key_name))
            continue
        direct = _strings(data.get("direct_group_ids"))
        if direct and group_names is None:
            group_names = _group_names(session)
        objects[("entity", key_name)] = Entity(
            name=str(data.get("name", key_name)),
            policies=_strings(data.get("policies")),
            metadata=_pairs(data.get("metadata")),
            aliases=tuple(sorted(by_entity.get(eid, ()))),
            groups=tuple(sorted((group_names or {}).get(g, g) for g in direct)),
        )
        ids[("entity", key_name)] = eid
    owned: set[Key] = {("entity", key) for eid, key in entity_keys.items() if eid in owned_entities}
    stale = {field_name("entity", e) for e in owned_entities if e not in entity_names}
    # An entity gone between the LIST and its read is not owned (the index keeps its field).
    return _Found(objects, ids, owned - unread, stale), group_names


def _match_aliases(
    desired: State,
    all_aliases: Mapping[str, Mapping[str, Any]],
    owned_aliases: Mapping[str, str],
    entity_names: Mapping[str, str],
    entity_keys: Mapping[str, str],
) -> _Found:
    """The aliases rendered or owned, from the LIST alone: matched by (mount, name without
    case) as Vault tells them apart; owned by ID and mount accessor."""
    objects: dict[Key, VaultObject] = {}
    ids: dict[Key, str] = {}
    owned: set[Key] = set()
    wanted_alias_fold: dict[tuple[str, str], str] = {}
    for key, obj in desired.objects.items():
        if isinstance(obj, EntityAlias):
            wanted_alias_fold[fold(obj.mount, obj.alias)] = key[1]
    for alias_id, value in all_aliases.items():
        mount = _mount_of(value)
        name = str(value.get("name", ""))
        record = owned_aliases.get(alias_id)
        mine = record is not None and _record_accessor(record) == value.get("mount_accessor")
        wanted_name = wanted_alias_fold.get(fold(mount, name))
        if wanted_name is None and not mine:
            continue
        key_name = wanted_name or f"{mount}/{name}"
        canonical = str(value.get("canonical_id", ""))
        entity_name = entity_names.get(canonical)
        if canonical in entity_keys:
            entity_name = entity_keys[canonical]
        objects[("entity-alias", key_name)] = EntityAlias(
            mount=mount, alias=name, entity=entity_name
        )
        ids[("entity-alias", key_name)] = alias_id
        if mine:
            owned.add(("entity-alias", key_name))
    stale = {
        field_name("entity-alias", a)
        for a, kept in owned_aliases.items()
        if a not in all_aliases or _record_accessor(kept) != all_aliases[a].get("mount_accessor")
    }
    return _Found(objects, ids, owned, stale)


def _read_groups(
    session: Session,
    desired: State,
    owned_groups: Mapping[str, str],
    group_names: dict[str, str] | None,
) -> _Found:
    """The groups rendered (by name without case) or owned (by ID), each read once; the LIST
    of names is `group_names` when reading the entities already made it."""
    wanted_groups = _names(desired.objects, "group")
    if not (wanted_groups or owned_groups):
        return _Found({}, {}, set(), set())
    objects: dict[Key, VaultObject] = {}
    ids: dict[Key, str] = {}
    owned: set[Key] = set()
    names = group_names if group_names is not None else _group_names(session)
    wanted_group_fold = {name.casefold(): name for name in wanted_groups}
    for gid, name in sorted(names.items()):
        wanted_group = wanted_group_fold.get(name.casefold())
        mine = gid in owned_groups
        if wanted_group is None and not mine:
            continue
        key_name = wanted_group or name
        data = session.read(f"identity/group/id/{_q(gid)}")
        if data is None:
            continue
        objects[("group", key_name)] = Group(
            name=str(data.get("name", name)),
            type=str(data.get("type", "internal")),
            policies=_strings(data.get("policies")),
            metadata=_pairs(data.get("metadata")),
        )
        ids[("group", key_name)] = gid
        if mine:
            owned.add(("group", key_name))
    stale = {field_name("group", g) for g in owned_groups if g not in names}
    return _Found(objects, ids, owned, stale)


def _mount_of(value: Mapping[str, Any]) -> str:
    return str(value.get("mount_path", "")).removeprefix("auth/").rstrip("/")


def _record_accessor(record: str) -> str | None:
    try:
        value = json.loads(record)
    except ValueError:
        return None
    return str(value.get("accessor")) if isinstance(value, dict) else None


def _group_names(session: Session) -> dict[str, str]:
    """Every group's name by ID (one LIST)."""
    info = session.list("identity/group/id").get("key_info") or {}
    return {gid: str(value.get("name", gid)) for gid, value in info.items()}


def _policy(name: str, text: str) -> Policy:
    try:
        return Policy(name=name, rules=hcl.parse(text), text=text)
    except hcl.HclError as exc:
        return Policy(name=name, rules=(), text=text, unreadable=str(exc))


def _auth_role(mount: str, role: str, data: Mapping[str, Any]) -> AuthRole:
    audience = data.get("audience") or ""
    try:
        ttl, max_ttl = int(data.get("token_ttl") or 0), int(data.get("token_max_ttl") or 0)
    except (TypeError, ValueError):
        raise _shape(f"GET auth/{mount}/role/{role}", "token_ttl", data.get("token_ttl")) from None
    return AuthRole(
        mount=mount,
        role=role,
        bound_service_account_names=_strings(data.get("bound_service_account_names")),
        bound_service_account_namespaces=_strings(data.get("bound_service_account_namespaces")),
        audience=str(audience),
        policies=_strings(data.get("token_policies") or data.get("policies")),
        token_ttl=ttl,
        token_max_ttl=max_ttl,
    )


def _secret_role(mount: str, role: str, data: Mapping[str, Any]) -> SecretRole:
    try:
        ttl = int(data.get("token_default_ttl") or 0)
        max_ttl = int(data.get("token_max_ttl") or 0)
    except (TypeError, ValueError):
        raise _shape(
            f"GET {mount}/roles/{role}", "token_default_ttl", data.get("token_default_ttl")
        ) from None
    return SecretRole(
        mount=mount,
        role=role,
        allowed_kubernetes_namespaces=_strings(data.get("allowed_kubernetes_namespaces")),
        kubernetes_role_name=str(data.get("kubernetes_role_name") or ""),
        kubernetes_role_type=str(data.get("kubernetes_role_type") or ""),
        token_default_ttl=ttl,
        token_max_ttl=max_ttl,
    )


# --- apply --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    done: tuple[Change, ...]
    skipped: tuple[Change, ...]


class _Unrecorded(BackendError):
    """A change was carried out but its ownership could not be recorded."""


class _Apply:
    """One apply: the IDs known so far and the index writer."""

    def __init__(self, session: Session, snapshot: Snapshot, writer: IndexWriter) -> None:
        self.session = session
        self.snapshot = snapshot
        self.writer = writer
        self.ids: dict[Key, str] = dict(snapshot.observed.ids)

    def run(self, change: Change) -> None:
        obj = change.after if change.action != "delete" else change.before
        if isinstance(obj, Policy | AuthRole | SecretRole):
            self._by_name(change, obj)
        elif isinstance(obj, Entity):
            self._entity(change, obj)
        elif isinstance(obj, EntityAlias):
            self._alias(change, obj)
        elif isinstance(obj, Group):
            self._group(change, obj)

    def _record(self, change: Change, fields: Mapping[str, str | None]) -> None:
        try:
            self.writer.record(fields)
        except BackendError as exc:
            raise _Unrecorded(
                f"{exc}. {change.action} {change.kind} {change.name} was carried out, but "
                f"recording that in tenancy's ownership index {self.writer.shown} failed: the "
                "next plan shows it as a conflict; when it is the object this apply made, "
                "`tenancy vault apply --adopt` records it"
            ) from None

    def _by_name(self, change: Change, obj: Policy | AuthRole | SecretRole) -> None:
        if isinstance(obj, Policy):
            path = f"sys/policies/acl/{_q(obj.name)}"
            body: dict[str, Any] = {"policy": obj.text}
        elif isinstance(obj, SecretRole):
            path = f"{obj.mount}/roles/{_q(obj.role)}"
            body = {
                "allowed_kubernetes_namespaces": list(obj.allowed_kubernetes_namespaces),
                "kubernetes_role_name": obj.kubernetes_role_name,
                "kubernetes_role_type": obj.kubernetes_role_type,
                "token_default_ttl": obj.token_default_ttl,
                "token_max_ttl": obj.token_max_ttl,
            }
        else:
            path = f"auth/{obj.mount}/role/{_q(obj.role)}"
            body = {
                "bound_service_account_names": list(obj.bound_service_account_names),
                "bound_service_account_namespaces": list(obj.bound_service_account_namespaces),
                "audience": obj.audience,
                "token_policies": list(obj.policies),
                "token_ttl": obj.token_ttl,
                "token_max_ttl": obj.token_max_ttl,
            }
        name = field_name(change.kind, obj.name)
        if change.action == "delete":
            self.session.delete(path)
            self._record(change, {name: None})
            return
        self.session.write(path, body)
        if name not in self.snapshot.index.fields or not self.writer.ready:
            self._record(change, {name: "owned"})

    def _entity(self, change: Change, entity: Entity) -> None:
        body = {"name": entity.name, "policies": list(entity.policies)}
        body["metadata"] = dict(entity.metadata)  # type: ignore[assignment]
        self._named(change, "entity", entity.name, body)

    def _named(
        self, change: Change, kind: Literal["entity", "group"], name: str, body: dict[str, Any]
    ) -> None:
        """Delete, create or update an identity object Vault names by ID (`identity/<kind>`),
        recording ownership by that ID only once the server has answered."""
        oid = self.ids.get(change.server_key)
        if change.action == "delete":
            if oid is not None:
                self.session.delete(f"identity/{kind}/id/{_q(oid)}")
                self._record(change, {field_name(kind, oid): None})
            return
        if oid is None:
            data = self.session.write(f"identity/{kind}", body)
            if not data or not data.get("id"):
                # Vault answers a create of an existing name by changing that object.
                raise BackendError(
                    f"{kind} {name} was made on the server after this plan was read "
                    "(Vault updated it instead of creating one); plan again"
                )
            oid = str(data["id"])
            self.ids[change.key] = oid
            self._record(change, {field_name(kind, oid): name})
            return
        self.session.write(f"identity/{kind}/id/{_q(oid)}", body)
        if not change.owned:
            self._record(change, {field_name(kind, oid): name})

    def _alias(self, change: Change, alias: EntityAlias) -> None:
        alias_id = self.ids.get(change.server_key)
        accessor = self.snapshot.accessors.get(alias.mount, "")
        if change.action == "delete":
            if alias_id is not None:
                self.session.delete(f"identity/entity-alias/id/{_q(alias_id)}")
                self._record(change, {field_name("entity-alias", alias_id): None})
            return
        entity_id = self.ids.get(("entity", alias.entity or ""))
        if entity_id is None:
            raise BackendError(
                f"entity {alias.entity!r} of alias {alias.name} has no ID on the server"
            )
        body = {"name": alias.alias, "mount_accessor": accessor, "canonical_id": entity_id}
        if alias_id is None:
            data = self.session.write("identity/entity-alias", body)
            new_id = str((data or {}).get("id") or "")
            if not new_id or new_id in self.snapshot.alias_ids:
                # Vault answers a create of an existing alias name by moving that alias.
                raise BackendError(
                    f"alias {alias.name} was made on the server after this plan was read "
                    "(Vault moved it instead of creating one); check it, then plan again"
                )
            self.ids[change.key] = new_id
            record = _alias_record(alias, accessor)
            self._record(change, {field_name("entity-alias", new_id): record})
            return
        self.session.write(f"identity/entity-alias/id/{_q(alias_id)}", body)
        if not change.owned or change.previous is not None:
            self._record(
                change, {field_name("entity-alias", alias_id): _alias_record(alias, accessor)}
            )

    def _group(self, change: Change, group: Group) -> None:
        body = {
            "name": group.name,
            "type": group.type,
            "policies": list(group.policies),
            "metadata": dict(group.metadata),
        }
        self._named(change, "group", group.name, body)


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
    """Carry out the plan's runnable changes in order; blocked ones are returned as skipped.

    Ownership is recorded after each change succeeds, never before: an interrupted apply
    leaves every object it made and recorded as tenancy's, and at most the one change it was
    recording when it stopped unrecorded (the error names it)."""
    runnable = plan.runnable
    writer = IndexWriter(session, settings, snapshot.index)
    run = _Apply(session, snapshot, writer)
    done: list[Change] = []
    for position, change in enumerate(runnable):
        try:
            run.run(change)
        except BackendError as exc:
            carried = isinstance(exc, _Unrecorded)
            applied = [*done, change] if carried else done
            rest = runnable[position + 1 :] if carried else runnable[position:]
            raise BackendError(
                f"{exc}. vault apply stopped at change {position + 1} of {len(runnable)} "
                f"({change.action} {change.kind} {change.name}). "
                f"Applied {len(applied)}: {_list(applied)}. Not applied {len(rest)}: "
                f"{_list(rest)}. Ownership is recorded after each change, so running "
                "`tenancy vault apply` again converges"
            ) from None
        done.append(change)
        if progress is not None:
            progress(change)
    gone = {field_name(kind, name): None for kind, name in plan.forget if kind not in IDENTITY}
    gone.update(dict.fromkeys(snapshot.stale))
    if gone:
        try:
            writer.record(gone)
        except BackendError as exc:
            raise BackendError(
                f"{exc}. All {len(done)} changes were applied, but entries of objects that "
                "are gone could not be dropped from the ownership index; running `tenancy "
                "vault apply` again tidies it"
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
