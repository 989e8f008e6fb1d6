#!/usr/bin/env python3
"""Extracts from Port's published OpenAPI document the facts the Port client and the local Port
rely on: for each operation they use, its path, method, parameters (with their schemas and
enums), request body schema and response schemas. Prose (descriptions, titles, summaries,
examples, vendor extensions) is left out; component schemas the operations refer to are kept
under `schemas`, with references rewritten to `#/$defs/<name>`.

Usage:
    extract.py DOCUMENT.yml --commit SHA --commit-date ISO-DATE [--out FILE]

The document is `openapi/_original/port-openapi.yml` of the public repository
`api-evangelist/port` (a copy of Port's published document). Needs PyYAML. To regenerate from a
clone of that repository:

    git -C CLONE show HEAD:openapi/_original/port-openapi.yml > /tmp/port-openapi.yml
    scripts/port-openapi/extract.py /tmp/port-openapi.yml \
        --commit "$(git -C CLONE rev-parse HEAD)" \
        --commit-date "$(git -C CLONE log -1 --format=%cs)"
"""

import argparse
import datetime
import json
import sys

import yaml

SOURCE_REPOSITORY = "api-evangelist/port"
SOURCE_PATH = "openapi/_original/port-openapi.yml"
DEFAULT_OUT = "ocean-core/src/port/openapi/port-openapi-facts.json"

# The operations of the published document that the Port client or the local Port use.
OPERATIONS = [
    ("post", "/v1/auth/access_token"),
    ("get", "/v1/blueprints"),
    ("post", "/v1/blueprints"),
    ("get", "/v1/blueprints/{identifier}"),
    ("patch", "/v1/blueprints/{identifier}"),
    ("delete", "/v1/blueprints/{identifier}"),
    ("delete", "/v1/blueprints/{blueprint_identifier}/all-entities"),
    ("get", "/v1/migrations/{migration_id}"),
    ("post", "/v1/blueprints/{blueprint_identifier}/entities"),
    ("get", "/v1/blueprints/{blueprint_identifier}/entities"),
    ("post", "/v1/blueprints/{blueprint_identifier}/entities/bulk"),
    ("get", "/v1/blueprints/{blueprint_identifier}/entities/{entity_identifier}"),
    ("delete", "/v1/blueprints/{blueprint_identifier}/entities/{entity_identifier}"),
    ("post", "/v1/blueprints/{blueprint_identifier}/bulk/entities/delete"),
    ("post", "/v1/entities/search"),
    ("post", "/v1/blueprints/{blueprint_identifier}/entities/search"),
    ("get", "/v1/integration/{identifier}"),
    ("patch", "/v1/integration/{identifier}"),
    ("delete", "/v1/integration/{identifier}"),
    ("patch", "/v1/integration/{identifier}/config"),
    ("get", "/v1/organization"),
    ("get", "/v1/webhooks"),
    ("post", "/v1/webhooks"),
    ("get", "/v1/webhooks/{identifier}"),
    ("patch", "/v1/webhooks/{identifier}"),
    ("delete", "/v1/webhooks/{identifier}"),
]

# Operations Python Ocean's client calls that the published document does not describe. They
# are listed so that the contract test knows them; their shapes come from Ocean's client.
NOT_IN_DOCUMENT = [
    ("post", "/v1/integration", "port_ocean/clients/port/mixins/integrations.py"),
    ("get", "/v1/integration/provision-enabled", "port_ocean/clients/port/mixins/integrations.py"),
    ("patch", "/v1/integration/{identifier}/resync-state", "port_ocean/clients/port/mixins/integrations.py"),
    ("get", "/v1/integration/{identifier}/resync-request", "port_ocean/clients/port/mixins/integrations.py"),
    ("post", "/v1/integration/{identifier}/kinds/{kind}/examples", "port_ocean/clients/port/mixins/integrations.py"),
    ("post", "/v1/blueprints/entities/datasource-entities", "port_ocean/clients/port/mixins/entities.py"),
]

# Keywords that only carry prose.
PROSE = {"description", "title", "summary", "examples", "example", "$comment", "deprecated"}
# Keywords whose value is a map from names to schemas (the names are data, not keywords).
SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
# Keywords whose value is one schema.
SCHEMA_ONE = {
    "items", "additionalProperties", "not", "if", "then", "else", "contains",
    "propertyNames", "unevaluatedItems", "unevaluatedProperties", "additionalItems",
}
# Keywords whose value is a list of schemas.
SCHEMA_LIST = {"allOf", "anyOf", "oneOf", "prefixItems"}

COMPONENT_PREFIX = "#/components/schemas/"


def clean_schema(schema, refs):
    """A schema without prose, references rewritten; `refs` collects the components used."""
    if isinstance(schema, list):  # `items` as a list (older drafts)
        return [clean_schema(s, refs) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in PROSE or key.startswith("x-"):
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith(COMPONENT_PREFIX):
            name = value[len(COMPONENT_PREFIX):]
            refs.add(name)
            out[key] = "#/$defs/" + name
        elif key in SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: clean_schema(s, refs) for name, s in value.items()}
        elif key in SCHEMA_ONE:
            out[key] = clean_schema(value, refs)
        elif key in SCHEMA_LIST and isinstance(value, list):
            out[key] = [clean_schema(s, refs) for s in value]
        elif key == "required" and isinstance(value, list):
            # The document repeats names in some `required` lists, which JSON Schema forbids.
            out[key] = list(dict.fromkeys(value))
        else:
            out[key] = value
    return out


def json_content(content, refs):
    if not content:
        return None
    media = content.get("application/json") or next(iter(content.values()))
    if "schema" not in media:
        return None
    return clean_schema(media["schema"], refs)


def operation_facts(document, method, path, refs):
    item = document["paths"].get(path)
    if item is None or method not in item:
        sys.exit(f"the document has no {method.upper()} {path}")
    op = item[method]
    parameters = []
    for param in item.get("parameters", []) + op.get("parameters", []):
        parameters.append(
            {
                "name": param["name"],
                "in": param["in"],
                "required": bool(param.get("required", False)),
                "schema": clean_schema(param.get("schema", {}), refs),
            }
        )
    body = op.get("requestBody")
    request_body = None
    if body:
        request_body = {
            "required": bool(body.get("required", False)),
            "schema": json_content(body.get("content"), refs),
        }
    responses = {}
    for status, response in op.get("responses", {}).items():
        responses[str(status)] = {"schema": json_content(response.get("content"), refs)}
    return {
        "method": method.upper(),
        "path": path,
        "parameters": parameters,
        "requestBody": request_body,
        "responses": responses,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document")
    parser.add_argument("--commit", required=True, help="commit of the source repository")
    parser.add_argument("--commit-date", required=True, help="date of that commit (ISO 8601)")
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()
    with open(args.document, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    refs = set()
    operations = [operation_facts(document, m, p, refs) for m, p in OPERATIONS]
    components = document.get("components", {}).get("schemas", {})
    schemas = {}
    pending = sorted(refs)
    while pending:
        name = pending.pop()
        if name in schemas:
            continue
        if name not in components:
            sys.exit(f"the document refers to a missing component schema {name}")
        found = set()
        schemas[name] = clean_schema(components[name], found)
        pending.extend(sorted(found - set(schemas)))
    facts = {
        "source": {
            "repository": SOURCE_REPOSITORY,
            "path": SOURCE_PATH,
            "commit": args.commit,
            "commitDate": args.commit_date,
            "extractedOn": datetime.date.today().isoformat(),
            "openapi": document.get("openapi"),
            "documentVersion": document.get("info", {}).get("version"),
            "generator": "scripts/port-openapi/extract.py",
            "normalised": ["repeated names of `required` lists kept once"],
        },
        "operations": operations,
        "schemas": dict(sorted(schemas.items())),
        "notInDocument": [
            {
                "method": m.upper(),
                "path": p,
                "shapeSource": {"repository": "port-labs/ocean", "path": src},
            }
            for m, p, src in NOT_IN_DOCUMENT
        ],
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(facts, f, indent=1, ensure_ascii=False, sort_keys=False)
        f.write("\n")
    print(f"{len(operations)} operations, {len(schemas)} component schemas -> {args.out}")


if __name__ == "__main__":
    main()
