"""The resource sections of `docs/api.md` (`scripts/gen_docs.py` writes them): each
resource's fields, limits, list options and answer, from the registry and its pydantic
schemas, and curl examples of each of its routes made from its schemas."""

import json
from typing import Any

from doc_sections import marker
from pydantic.fields import FieldInfo

from app.resources import REGISTRY, RESOURCES, Resource
from app.schemas.examples import constraint, example_body

ID_MAX = 2**31 - 1


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g}..{high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}" if high else ""


def _field_row(name: str, prop: dict[str, Any], field: FieldInfo, required: bool) -> str:
    """Describe one input field as a table row: type, required, default and limits."""
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    first = options[0]
    limits = []
    if {o.get("type") for o in options} == {"number", "string"}:
        kind = "decimal"
        digits, places = (constraint(field, n, []) for n in ("max_digits", "decimal_places"))
        limits.append(f"{digits} digits, {places} after the point" if digits else "")
    elif "enum" in first:
        kind = "one of " + ", ".join(f"`{v}`" for v in first["enum"])
    elif first.get("type") == "array":
        kind = "list of ids" if first["items"].get("maximum") == ID_MAX else "list"
        limits.append(f"at most {first['maxItems']}" if "maxItems" in first else "")
    elif first.get("type") == "integer" and first.get("maximum") == ID_MAX:
        kind = "id"
    else:
        kind = first.get("format", first.get("type", "?"))
    if "maxLength" in first:
        low = first.get("minLength") or 0
        limits.append(
            f"{low}-{first['maxLength']} characters"
            if low
            else f"up to {first['maxLength']} characters"
        )
    if kind != "id":
        numeric = next((o for o in options if "minimum" in o or "maximum" in o), {})
        limits.append(_bounds(numeric.get("minimum"), numeric.get("maximum")))
    pattern = first.get("pattern") or constraint(field, "pattern", [])
    limits.append(f"`{pattern}`" if pattern else "")
    if len(options) < len(prop.get("anyOf", [prop])):
        kind += " or null"
    default = (
        f"`{json.dumps(prop['default'])}`"
        if "default" in prop
        else "`[]`"
        if field.default_factory is list
        else "-"
    )
    shown = "; ".join(limit for limit in limits if limit) or "-"
    return f"| `{name}` | {kind} | {'yes' if required else 'no'} | {default} | {shown} |"


def render_resource(resource: Resource) -> str:
    """Return what a resource's section of docs/api.md says about its shapes and lists."""
    url = f"/api/v1/{resource.path}"
    out = [f"Permission model `{resource.policy_model}`."]
    if resource.create_schema is None:
        out[0] += f" Endpoints: `GET {url}`, `GET|DELETE {url}/{{id}}`, `DELETE {url}`."
    else:
        out[0] += f" Endpoints: `GET|POST {url}`, `GET|PUT|DELETE {url}/{{id}}`."
    out += [
        "",
        "Lists sort (`sort=field`, `sort=-field`) on "
        + ", ".join(f"`{c}`" for c in resource.sort_columns)
        + "; `q` searches "
        + (", ".join(f"`{c}`" for c in resource.search_columns) or "nothing")
        + "; filters: "
        + (", ".join(f"`{c}=`" for c in resource.choice_filters) or "none")
        + (
            "; ranges of days, both included (`_from=`, `_to=`, a date like 2026-01-31; "
            "for a time, days in your time zone): "
            + ", ".join(f"`{c}`" for c in resource.range_columns)
            if resource.range_columns
            else ""
        )
        + ".",
    ]
    if resource.create_schema is not None:
        schema = resource.create_schema.model_json_schema()
        fields = resource.create_schema.model_fields
        # the owner fields, common to almost every resource, go last
        names = sorted(schema["properties"], key=lambda name: name.startswith("owner_"))
        out += [
            "",
            "| field (POST; PUT takes any of them) | type | required | default | limits |",
            "|---|---|---|---|---|",
            *(
                _field_row(n, schema["properties"][n], fields[n], n in schema.get("required", ()))
                for n in names
            ),
        ]
    if resource.privileged_fields:
        fields = ", ".join(f"`{f}`" for f in sorted(resource.privileged_fields))
        out += ["", f"Only a holder of `{resource.policy_model}:<action>:all` may set {fields}."]
    read = ", ".join(f"`{name}`" for name in resource.read_schema.model_fields)
    out += ["", f"Answers carry {read}."]
    return "\n".join(out)


def render_examples(resource: Resource) -> str:
    """Return curl examples of every route of a resource, as admin, with derived bodies.

    A record the body must name (a task's project) is created first from its own example.
    """
    lines: list[str] = []
    made: set[str] = set()

    def create(res: Resource) -> str:
        variable = res.path.upper() + "_ID"
        if res.path not in made:
            assert res.create_schema is not None
            fields = res.create_schema.model_fields
            given = {
                name: "$" + create(REGISTRY[target])
                for name, target in res.references.items()
                if fields[name].is_required()
            }
            text = f"{res.path}-example"
            example = example_body(res.create_schema, text=text, given=given, stand_ins=set(given))
            body = json.dumps(example)
            for value in given.values():  # the shell variable goes outside the single quotes
                body = body.replace(f'"{value}"', f"'\"{value}\"'")
            lines.append(
                f"{variable}=$(curl -s -b admin.jar --json '{body}' \\\n"
                f'     "$BASE/api/v1/{res.path}" | jq .id)  # → 201'
            )
            made.add(res.path)
        return variable

    variable = create(resource)
    url = f'"$BASE/api/v1/{resource.path}/${variable}"'
    lines += [
        f'curl -s -b admin.jar "$BASE/api/v1/{resource.path}?limit=10"  # → 200',
        f"curl -s -b admin.jar {url}  # → 200",
        f"curl -s -b admin.jar -X PUT --json '{{}}' {url}  # → 200",
        f"curl -s -b admin.jar -X DELETE {url}  # → 204",
        f"curl -s -b admin.jar {url}  # → 404",
    ]
    return "```sh\n" + "\n".join(lines) + "\n```"


def with_new_sections(text: str) -> str:
    """Add a section to docs/api.md for each resource it lacks, before `## Errors`."""
    for resource in RESOURCES:
        if marker(f"resource:{resource.path}")[0] in text:
            continue
        if resource.create_schema is None:
            raise ValueError(f"docs/api.md lacks a section for {resource.path}: write one")
        new = [f"## {resource.label}", ""]
        for name in (f"resource:{resource.path}", f"examples:{resource.path}"):
            new += [*marker(name), ""]
        text = text.replace("\n## Errors\n", "\n" + "\n".join(new) + "\n## Errors\n", 1)
    return text
