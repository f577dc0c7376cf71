"""The contract loader: openapi.yaml, read once, turned into validators and catalogues.

Everything that knows a schema, an error code or a request type asks this module, so the
spec stays the one source of truth for the mock, the contract suite and the fixtures.
Validation runs on jsonschema-rs (fast, compiled once); only a failing instance is walked
again with Python's jsonschema, whose errors point at the schema node that refused it, so
the `x-capillary-error` annotations there can name the documented error code.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import marshal
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import jsonschema_rs

if TYPE_CHECKING:
    import jsonschema  # imported when a first instance fails (SchemaValidator._slow): ~150 ms, ~8 MiB

SPEC_ENV = "CAPILLARY_OPENAPI"
PACKAGED_SPEC = Path(__file__).resolve().parent / "openapi.yaml"  # the wheel's copy (setup.py puts it there)
SOURCE_SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"  # the repository root: the one source
DIALECT = "https://json-schema.org/draft/2020-12/schema"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
TYPES_TABLE = "x-request-types"
ENUM_ANNOTATION = "x-enum-from-request-types"
CREATE_ROLE, DECIDE_ROLE = "create", "decide"
ERROR_ANNOTATION = "x-capillary-error"
MISSING_ANNOTATION = "x-capillary-missing-error"
# The parsed document is kept in a cache file named by a hash of the YAML's bytes: building the
# Python objects from YAML takes ~80 ms even with libyaml, reading them back with marshal ~3 ms, and
# every process that loads the contract (each served worker, each command) starts that much sooner.
CACHE_ENV = "CAPILLARY_CONTRACT_CACHE"  # a directory; empty: no cache
CACHE_FILES = 16  # the newest kept (a test run may load many variants of the contract)


def spec_path() -> Path:
    """Where openapi.yaml is: $CAPILLARY_OPENAPI, else the copy inside an installed package, else the
    repository root (a source checkout or an editable install, which have no copy)."""
    if os.environ.get(SPEC_ENV):
        return Path(os.environ[SPEC_ENV])
    return PACKAGED_SPEC if PACKAGED_SPEC.is_file() else SOURCE_SPEC


def select_spec(path: str | os.PathLike[str]) -> Path:
    """Make `path` the contract every later `load_contract()` reads, in this process and the ones it
    starts (the commands' `--spec PATH`: the same as setting $CAPILLARY_OPENAPI). Refuses a path that
    is not a file, or not a YAML/JSON OpenAPI document, with a ValueError that names it, so a command
    can say so and exit 2. (It is parsed here, once: later loads of the same file version are cached.)"""
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise ValueError(f"no OpenAPI document at {path}")
    import yaml
    try:
        load_contract(resolved).request_types  # a workflow contract names its request types
    except (yaml.YAMLError, UnicodeDecodeError, AttributeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not an OpenAPI document of the workflow contract "
                         f"({type(exc).__name__}: {str(exc)[:200]})") from None
    os.environ[SPEC_ENV] = str(resolved)
    return resolved


@dataclass(frozen=True)
class Violation:
    """One reason an instance does not fit its schema, with the code the spec ties to it."""

    field: str
    detail: str
    code: int | None

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "detail": self.detail}


class SchemaValidator:
    """A schema, compiled when first used: `is_valid` is the fast path, `violations` explains a failure.

    Compiled lazily and with only the components its `$ref`s reach: a compiled validator costs about
    its root's size, and a root holding every component made each ~1 MiB (66 of them were most of a
    served mock's memory and a fifth of its start-up, though one process uses a few)."""

    def __init__(self, schema: dict[str, Any], components: dict[str, Any]):
        self.schema = schema
        self._components = components
        self._slow_root = {"$schema": DIALECT, "allOf": [schema], "components": components}

    @functools.cached_property
    def _fast(self) -> jsonschema_rs.Draft202012Validator:
        # Compiled on first use: loading the contract compiles none of its ~70 schemas, so a command's
        # first request goes out sooner (`contracts run`'s preflight needs none of them).
        root = {"$schema": DIALECT, "allOf": [self.schema], "components": _reached(self.schema, self._components)}
        return jsonschema_rs.Draft202012Validator(root)

    def is_valid(self, instance: Any) -> bool:
        return self._fast.is_valid(instance)

    @functools.cached_property
    def _slow(self) -> jsonschema.Draft202012Validator:
        import jsonschema
        return jsonschema.Draft202012Validator(self._slow_root)

    def violations(self, instance: Any, pointer_prefix: str = "") -> list[Violation]:
        """Every leaf violation, each with the documented code its schema node names (or None)."""
        if self.is_valid(instance):
            return []
        found: list[Violation] = []
        for error in _leaf_errors(self._slow.iter_errors(instance)):
            found.append(_violation(error, pointer_prefix, self._slow_root))
        # Stable order: by field, then detail; duplicates (same field and detail) once.
        unique = {(v.field, v.detail): v for v in found}
        return sorted(unique.values(), key=lambda v: (v.field, v.detail))


def _reached(schema: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The part of `components` that `schema`'s local `$ref`s reach, followed transitively."""
    reached: dict[str, Any] = {}
    todo = [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                kind, _, rest = ref[len("#/components/"):].partition("/")
                name = rest.split("/", 1)[0].replace("~1", "/").replace("~0", "~")  # a ref may point inside one
                if name not in reached.setdefault(kind, {}) and name in components.get(kind, {}):
                    reached[kind][name] = components[kind][name]
                    todo.append(components[kind][name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return reached


def _leaf_errors(errors: Iterator[jsonschema.ValidationError]) -> Iterator[jsonschema.ValidationError]:
    """Descend into allOf/anyOf/oneOf/if-then contexts so each error names the deepest node."""
    for error in errors:
        if error.context and error.validator in ("anyOf", "oneOf") and not _annotated(error.schema):
            # The branch that got furthest explains best; ties keep them all.
            best = max((len(e.absolute_path) for e in error.context), default=0)
            yield from _leaf_errors(iter([e for e in error.context if len(e.absolute_path) == best]))
        else:
            yield error


def _annotated(schema: Any) -> bool:
    return isinstance(schema, dict) and (ERROR_ANNOTATION in schema or MISSING_ANNOTATION in schema)


def _pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _violation(error: jsonschema.ValidationError, prefix: str, root: dict[str, Any]) -> Violation:
    field_ = prefix + _pointer(error.absolute_path)
    code = None
    if error.validator == "required" and isinstance(error.schema, dict):
        missing = re.match(r"'(.*)' is a required property", error.message)
        name = missing.group(1) if missing else None
        if name is not None:
            field_ = f"{field_}/{name}"
            prop = _follow_refs(error.schema.get("properties", {}).get(name), root)
            if isinstance(prop, dict):
                code = prop.get(MISSING_ANNOTATION)
        if code is None:
            code = error.schema.get(MISSING_ANNOTATION)
    elif isinstance(error.schema, dict):
        code = error.schema.get(ERROR_ANNOTATION)
    return Violation(field=field_ or "/", detail=_short(error.message), code=code)


DETAIL_LIMIT = 300


def _short(message: str) -> str:
    """jsonschema quotes the offending value whole; an answer should not echo a megabyte back."""
    return message if len(message) <= DETAIL_LIMIT else message[:DETAIL_LIMIT - 1] + "…"


def _follow_refs(schema: Any, root: dict[str, Any]) -> Any:
    """Follow local $refs against the validator's root (which carries `components`)."""
    while isinstance(schema, dict) and "$ref" in schema and schema["$ref"].startswith("#/"):
        node: Any = root
        for part in schema["$ref"][2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


@dataclass
class Parameter:
    name: str
    location: str
    required: bool
    validator: SchemaValidator
    schema: dict[str, Any]


@dataclass
class Operation:
    """One operation of the spec with its compiled validators."""

    operation_id: str
    method: str
    path: str
    parameters: list[Parameter]
    body: SchemaValidator | None
    body_required: bool
    responses: dict[str, SchemaValidator | None] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    def response_validator(self, status: int) -> SchemaValidator | None:
        """The schema for a status, falling back to `default`; KeyError when undocumented."""
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in self.responses:
                return self.responses[key]
        raise KeyError(f"{self.method.upper()} {self.path} does not document status {status}")


class ContractError(ValueError):
    """The document is not a contract the kit can use (a request type without its operations, ...)."""


class Contract:
    """The parsed spec (or another OpenAPI document, such as the mock's admin API) and everything
    derived from it.

    `shared` is the contract a second document leans on: its external `$ref`s
    (`../openapi.yaml#/components/schemas/X`) are inlined from it and its request-type enums
    completed from its table, so the document stands on its own once loaded.
    """

    def __init__(self, spec: dict[str, Any], source: str, shared: Contract | None = None):
        self.spec = spec
        self.source = source
        if shared is not None:
            _inline_external_refs(spec, shared.spec)
        self.components = spec.setdefault("components", {})
        table = (shared or self).spec.get(TYPES_TABLE, {})
        self.restated_enums = _complete_type_enums(spec, table)
        self._validators: dict[str, SchemaValidator] = {}
        self.operations: dict[str, Operation] = {}
        for path, item in spec.get("paths", {}).items():
            self._add_operations(path, item)
        for name, item in spec.get("webhooks", {}).items():
            self._add_operations(name, item, webhook=True)
        if TYPES_TABLE in spec:
            self.request_types  # noqa: B018 -- a table naming a path without its operations fails at load

    # -- compilation -------------------------------------------------------------------
    def target(self, ref: str) -> Any:
        """The node a local `$ref` (`#/components/...`) points at, one step (it may be a `$ref` again)."""
        node: Any = self.spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def resolve(self, node: Any) -> Any:
        """`node` with its `$ref`s followed to the schema (or object) that holds the keywords."""
        while isinstance(node, dict) and "$ref" in node:
            node = self.target(node["$ref"])
        return node

    def validator(self, schema: dict[str, Any]) -> SchemaValidator:
        """A compiled validator for a schema (a component `$ref` or an inline schema)."""
        key = repr(schema)
        if key not in self._validators:
            self._validators[key] = SchemaValidator(schema, self.components)
        return self._validators[key]

    def component_validator(self, name: str) -> SchemaValidator:
        return self.validator({"$ref": f"#/components/schemas/{name}"})

    def _add_operations(self, path: str, item: dict[str, Any], webhook: bool = False) -> None:
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            params: dict[tuple[str, str], Parameter] = {}
            for raw in [*shared, *op.get("parameters", [])]:
                p = self.resolve(raw)
                params[(p["name"], p["in"])] = Parameter(
                    name=p["name"], location=p["in"], required=bool(p.get("required")),
                    validator=self.validator(p["schema"]), schema=self.resolve(p["schema"]))
            body = self.resolve(op.get("requestBody")) if op.get("requestBody") else None
            body_schema = body and body.get("content", {}).get("application/json", {}).get("schema")
            responses = {}
            for status, resp in op.get("responses", {}).items():
                resp = self.resolve(resp)
                media = resp.get("content", {})
                schema = (media.get("application/json") or {}).get("schema")
                responses[str(status)] = self.validator(schema) if schema else None
            oid = op["operationId"]
            self.operations[oid] = Operation(
                operation_id=oid, method=method, path=path if not webhook else f"webhook:{path}",
                parameters=list(params.values()),
                body=self.validator(body_schema) if body_schema else None,
                body_required=bool(body and body.get("required")),
                responses=responses, raw=op)

    # -- catalogues --------------------------------------------------------------------
    @functools.cached_property
    def workflow_errors(self) -> dict[int, str]:
        """Documented v2 codes and their exact messages (components `WorkflowErrorNNNN`)."""
        out = {}
        for name, schema in self.components.get("schemas", {}).items():
            if re.fullmatch(r"WorkflowError\d+", name):
                props = schema["properties"]
                out[props["code"]["const"]] = props["message"]["const"]
        return out

    @functools.cached_property
    def legacy_item_errors(self) -> dict[int, str]:
        """Documented v1.1 item failure codes and messages (`LegacyItemFailure`)."""
        return _const_pairs(self.components["schemas"]["LegacyItemFailure"]["oneOf"])

    @functools.cached_property
    def wrapped_errors(self) -> dict[int, str]:
        """Item failures of the wrapped Intouch APIs (`WrappedItemFailure`), e.g. 744."""
        return _const_pairs(self.components["schemas"]["WrappedItemFailure"]["oneOf"])

    @functools.cached_property
    def request_types(self) -> dict[str, dict[str, Any]]:
        """`x-request-types`, completed from the paths it names: URL name -> the entry (`path`,
        `responseName`, `eventName`, ...) plus `createOperationId` / `decideOperationId` (the POST
        and PUT of that path), `schema` / `schemaName` (the create body), and `wrappedPath` /
        `wrappedMethods` (the Intouch call that body wraps)."""
        out = {}
        for url_name, entry in self.spec.get(TYPES_TABLE, {}).items():
            item = self.spec.get("paths", {}).get(entry.get("path"))
            if not item or "post" not in item or "put" not in item:
                raise ContractError(f"{TYPES_TABLE}.{url_name}: path {entry.get('path')!r} needs a POST (create) "
                                    "and a PUT (decide) operation")
            schema_ref = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            create = self.resolve({"$ref": schema_ref})
            call = self.resolve(create["properties"]["payload"]["properties"]["IntouchAPITask-Payload"])
            method = call["properties"]["method"]
            out[url_name] = {
                **entry,
                "createOperationId": item["post"]["operationId"],
                "decideOperationId": item["put"]["operationId"],
                "schema": schema_ref,
                "schemaName": schema_ref.rsplit("/", 1)[-1],
                "wrappedPath": call["properties"]["path"]["const"],
                "wrappedMethods": [method["const"]] if "const" in method else list(method["enum"]),
            }
        return out

    # -- the request-type accessors: every path or operation of a type is asked for here ----
    def create_operation(self, url_name: str) -> Operation:
        """The operation that raises a request of this type (`POST <its path>`)."""
        return self.operations[self.request_types[url_name]["createOperationId"]]

    def decide_operation(self, url_name: str) -> Operation:
        """The operation that approves or rejects a request of this type (`PUT <its path>`)."""
        return self.operations[self.request_types[url_name]["decideOperationId"]]

    def examples(self, operation_id: str, where: str = "request") -> dict[str, dict[str, Any]]:
        """The named JSON examples of an operation's request body (`where="request"`) or of one of
        its responses (`where="200"`), `$ref`s followed: name -> {summary, value, x-seed, ...}."""
        raw = self.operations[operation_id].raw
        node = raw.get("requestBody") if where == "request" else raw.get("responses", {}).get(where)
        media = (self.resolve(node or {}).get("content") or {}).get("application/json") or {}
        return {name: self.resolve(example) for name, example in media.get("examples", {}).items()}

    def create_path(self, url_name: str) -> str:
        """The path a maker POSTs a `url_name` create body to and a checker PUTs its decision to,
        e.g. `/api_gateway/v2/request-workflow/GOODWILL-POINTS` (the table's `path`)."""
        if url_name not in self.request_types:
            raise KeyError(f"{url_name!r} is not a request type of the contract")
        return self.request_types[url_name]["path"]

    @functools.cached_property
    def _roles(self) -> dict[str, tuple[str, str]]:
        out = {}
        for url_name, entry in self.request_types.items():
            out[entry["createOperationId"]] = (CREATE_ROLE, url_name)
            out[entry["decideOperationId"]] = (DECIDE_ROLE, url_name)
        return out

    def workflow_role(self, operation_id: str) -> tuple[str, str] | None:
        """(`"create"` or `"decide"`, URL name) for a request type's operation, else None.

            >>> load_contract().workflow_role("createGoodwillPointsRequest")
            ('create', 'GOODWILL-POINTS')
        """
        return self._roles.get(operation_id)

    @functools.cached_property
    def _routes(self) -> list[tuple[re.Pattern[str], Operation]]:
        routes = []
        for op in self.operations.values():
            if op.path.startswith("webhook:"):
                continue
            pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(op.path))
            routes.append((re.compile(f"^{pattern}$"), op))
        return sorted(routes, key=lambda r: r[1].path.count("{"))  # concrete paths first, as OpenAPI says

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation a method and path call, with the path parameters; None when it is no operation."""
        for pattern, op in self._routes:
            found = pattern.match(path)
            if found and op.method == method.lower():
                return op, found.groupdict()
        return None

    def webhook(self, name: str = "requestWorkflowEvent") -> Operation:
        return self.operations[name]

    # -- where each request type is created and decided ----------------------------------
    def path_of(self, operation_id: str, **params: str) -> str:
        """An operation's path with its path parameters filled in (e.g. `getRequest`, requestId=...)."""
        path = self.operations[operation_id].path
        for name, value in params.items():
            path = path.replace("{" + name + "}", value)
        return path


def walk_nodes(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every mapping of a document with its JSON pointer, parents first."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            yield from walk_nodes(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk_nodes(value, f"{pointer}/{index}")


def _complete_type_enums(spec: dict[str, Any], table: dict[str, Any]) -> list[tuple[str, list[Any], list[Any]]]:
    """Set every enum marked `x-enum-from-request-types: [urlName, responseName, ...]` to those names
    of the table's types, in table order, so a new type is one table entry for the kit. Returns
    (pointer, enum as written, enum derived): a test holds the file to the table, since other tools
    read the file as written."""
    found = []
    for pointer, node in list(walk_nodes(spec)):
        fields = node.get(ENUM_ANNOTATION)
        if not isinstance(fields, list):
            continue
        derived = [url if name == "urlName" else entry[name] for name in fields for url, entry in table.items()]
        found.append((pointer, list(node.get("enum", [])), derived))
        node["enum"] = derived
    return found


def _inline_external_refs(spec: dict[str, Any], shared: dict[str, Any]) -> None:
    """Replace `<file>#/components/schemas/X` by a local `#/components/schemas/X`, copying X (and
    what X refers to) from the shared document, so the document needs no file beside it."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    pending = [node for _, node in walk_nodes(spec)]
    while pending:
        node = pending.pop()
        ref = node.get("$ref")
        if not isinstance(ref, str):
            continue
        external = not ref.startswith("#")
        name = ref.rpartition("/")[2]
        if external:
            node["$ref"] = f"#/components/schemas/{name}"
        if name not in schemas and name in shared.get("components", {}).get("schemas", {}):
            copied = copy.deepcopy(shared["components"]["schemas"][name])
            schemas[name] = copied
            pending.extend(n for _, n in walk_nodes(copied))


def _const_pairs(branches: list[dict[str, Any]]) -> dict[int, str]:
    return {b["properties"]["code"]["const"]: b["properties"]["message"]["const"] for b in branches}


def _cache_dir() -> Path | None:
    if CACHE_ENV in os.environ:
        return Path(os.environ[CACHE_ENV]) if os.environ[CACHE_ENV] else None
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "capillary-contract"


def parse_spec(path: str | os.PathLike[str]) -> Any:
    """The YAML document at `path` as Python objects (the safe subset), through the parse cache when it
    can be read or written (an unwritable cache is no error: the YAML is parsed every time then)."""
    raw = Path(path).read_bytes()
    folder = _cache_dir()
    key = hashlib.sha256(raw).hexdigest()[:32]
    cached = folder / f"{key}.py{sys.version_info[0]}{sys.version_info[1]}.marshal" if folder else None
    if cached is not None:
        try:
            return marshal.loads(cached.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            pass
    import yaml  # libyaml when present: 40 ms where the pure-Python loader takes 330 ms (the same subset)
    spec = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if cached is not None:
        try:
            data = marshal.dumps(spec)  # ValueError for what marshal cannot hold (a YAML date): no cache
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
            partial.write_bytes(data)
            os.replace(partial, cached)
            for stale in sorted(cached.parent.glob("*.marshal"), key=lambda f: f.stat().st_mtime)[:-CACHE_FILES]:
                stale.unlink(missing_ok=True)
        except (OSError, ValueError):
            pass
    return spec


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime: float, shared: Contract | None = None) -> Contract:
    return Contract(parse_spec(path), source=path, shared=shared)


def load_contract(path: str | os.PathLike[str] | None = None, shared: Contract | None = None) -> Contract:
    """The contract at `path` (default: spec_path()), parsed and compiled once per file version.
    A second document that refers to the contract (the mock's admin API) is loaded with
    `shared=load_contract()`."""
    resolved = Path(path) if path else spec_path()
    return _load(str(resolved), resolved.stat().st_mtime, shared)
