"""Finishing rules for the generated OpenAPI document: what marshmallow's metadata cannot say."""


def tighten(doc):
    """Apply every rule to the document (a dict, changed in place) and return it."""
    _null_in_nullable_enums(doc)
    _patch_needs_something(doc["components"]["schemas"].get("ActivityUpdate"))
    return doc


def _null_in_nullable_enums(node):
    # JSON Schema checks `enum` on its own: a nullable enum lists null itself, and then
    # needs no type list (typed clients read it as one optional enum, not a union).
    if isinstance(node, dict):
        kinds = node.get("type")
        if "enum" in node and isinstance(kinds, list) and "null" in kinds:
            node["enum"] = [*node["enum"], *([] if None in node["enum"] else [None])]
            del node["type"]
        for value in node.values():
            _null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _null_in_nullable_enums(value)


def _patch_needs_something(schema):
    """PATCH names at least one known field; null, like a field left out, leaves the value as it is."""
    if schema is None:
        return
    schema["minProperties"] = 1
    schema["additionalProperties"] = False
    schema["description"] = ("Name at least one field. A field sent as null, like one left out, leaves "
                             "the record's value as it is, so a body of nulls answers the record unchanged.")
