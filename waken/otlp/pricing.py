"""A GenAI span's cost from the owner's price table, when it carries none of its own."""
from waken.agent_log.prices import cost_of, usd


def priced(data, book):
    """The validated record fields, with cost_usd (dollars) from the price of its model when it has none."""
    if data.get("cost_usd") is not None or not book:
        return data
    metadata = data.get("metadata") or {}
    micro = cost_of(book, metadata.get("model"), metadata.get("input_tokens"), metadata.get("output_tokens"))
    return data if micro is None else {**data, "cost_usd": usd(micro)}
