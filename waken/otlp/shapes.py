"""OTLP/JSON's shapes as the OpenAPI document describes them, where protobuf's JSON reading is lenient.

protobuf's reading takes null as "not set", a string where a message goes as an empty message,
true as 1 and an unknown enum value as nothing, so it would store (or answer 200 for) a body the
document calls invalid. These checks refuse that, with a ValueError naming the field; keys OTLP
does not define stay ignored, as OTLP asks.
"""


def check(data, descriptor, max_nesting):
    """A ValueError unless the JSON `data` has the shapes of the message `descriptor` names."""
    stack = [(data, descriptor, 0)]
    while stack:
        node, message, depth = stack.pop()
        if depth > max_nesting:
            raise ValueError(f"nested more than {max_nesting} levels deep")
        for key, value in node.items():
            field = message.fields_by_camelcase_name.get(key) or message.fields_by_name.get(key)
            if field is None:
                continue
            if field.message_type is None:
                _check_scalar(key, value, field, message)
                continue
            if value is None:
                raise ValueError(f"{key} is null in {message.name}; leave it out instead")
            repeated = field.is_repeated
            items = value if repeated and isinstance(value, list) else [value]
            if (repeated and not isinstance(value, list)) or not all(isinstance(item, dict) for item in items):
                what = "a list of objects" if repeated else "an object"
                raise ValueError(f"{key} in {message.name} must be {what}")
            stack.extend((item, field.message_type, depth + 1) for item in items)


def _check_scalar(key, value, field, message):
    """What protobuf's reading lets through and OTLP/JSON does not: null (but for a double,
    which JSON writers such as JavaScript's give for NaN and infinities), and true or false
    for a number. Other wrong types protobuf refuses itself."""
    if value is None:
        if field.cpp_type not in (field.CPPTYPE_DOUBLE, field.CPPTYPE_FLOAT):
            raise ValueError(f"{key} is null in {message.name}; leave it out instead")
    elif field.enum_type is not None:
        _check_enum(key, value, field.enum_type, field.is_repeated)
    elif isinstance(value, bool) and field.cpp_type != field.CPPTYPE_BOOL:
        raise ValueError(f"{key} in {message.name} must be a number, not {str(value).lower()}")


def _check_enum(key, value, enum, repeated):
    # OTLP/JSON writes enums as integers (protobuf's own JSON printer writes their names, read too);
    # protobuf's reading would skip an unknown name or number.
    for item in value if repeated and isinstance(value, list) else [value]:
        if isinstance(item, float) and item.is_integer():
            item = int(item)    # JSON does not tell 2 from 2.0
        known = item in enum.values_by_name if isinstance(item, str) else item in enum.values_by_number
        if isinstance(item, bool) or not isinstance(item, (int, str)) or not known:
            raise ValueError(f"{key} must be one of the integers {min(enum.values_by_number)} to "
                             f"{max(enum.values_by_number)} ({enum.name})")
