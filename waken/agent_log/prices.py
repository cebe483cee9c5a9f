"""The owner's price table (model → dollars per million input and output tokens) and micro-dollar amounts."""
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from waken.db import orm
from waken.errors import Invalid, NotFound, check_length
from waken.models import ModelPrice

MICRO = 1_000_000
MAX_MODEL = 200
MAX_PRICE = 1_000_000       # dollars per million tokens: far above any real price


def micro_usd(dollars):
    """Dollars (a number or None) as whole micro-dollars, rounded half up: sums of these are exact."""
    if dollars is None:
        return None
    return int((Decimal(str(dollars)) * MICRO).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def usd(micro):
    """Micro-dollars (or None) as a dollar number for JSON."""
    return None if micro is None else micro / MICRO


def parse_price(text, field):
    """A price per million tokens typed by the owner ('3', '0.25', '$15') as micro-dollars; Invalid otherwise."""
    cleaned = str(text if text is not None else "").strip().removeprefix("$").strip()
    try:
        price = Decimal(cleaned)
    except InvalidOperation:
        raise Invalid(f"{field} must be a number of dollars per million tokens, e.g. 3 or 0.25, "
                      f"not '{cleaned[:40]}'.", field=field, code="price.invalid") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise Invalid(f"{field} must be from 0 to {MAX_PRICE} dollars per million tokens.", field=field, code="price.invalid", params={"max": MAX_PRICE})
    return micro_usd(price)


def clean_model(model):
    """The model name as stored: trimmed, 1-200 characters; Invalid otherwise."""
    name = (model or "").strip()
    if not name:
        raise Invalid("A model name is required, e.g. gpt-4o or claude-sonnet-4-5.", field="model", code="price.model_required")
    return check_length(name, MAX_MODEL, "model", "price.model_too_long")


def list_prices():
    """Every price, by model name."""
    return list(orm.session.scalars(select(ModelPrice).order_by(ModelPrice.model)))


def set_price(model, input_per_mtok, output_per_mtok):
    """Add or replace a model's price (texts in dollars per million tokens); inside db.write()."""
    name = clean_model(model)
    prices = parse_price(input_per_mtok, "input_per_mtok"), parse_price(output_per_mtok, "output_per_mtok")
    row = orm.session.scalars(select(ModelPrice).where(ModelPrice.model == name)).first()
    if row is None:
        row = ModelPrice(model=name)
        orm.session.add(row)
    row.input_per_mtok, row.output_per_mtok = prices
    orm.session.flush()
    return row


def delete_price(model):
    """Delete a model's price; NotFound when it has none. Inside db.write()."""
    name = (model or "").strip()
    row = orm.session.scalars(select(ModelPrice).where(ModelPrice.model == name)).first()
    if row is None:
        raise NotFound(f"There is no price for the model '{name[:MAX_MODEL]}'.", code="price.not_found")
    orm.session.delete(row)
    orm.session.flush()
    return row


def price_book():
    """{model: (input, output) micro-dollars per million tokens}, read once per export."""
    return {row.model: (row.input_per_mtok, row.output_per_mtok) for row in list_prices()}


def cost_of(book, model, input_tokens, output_tokens):
    """Micro-dollars for a model call at the owner's price, or None when the model has no price or no tokens."""
    price = book.get(model) if model else None
    if price is None or (input_tokens is None and output_tokens is None):
        return None
    total = (input_tokens or 0) * price[0] + (output_tokens or 0) * price[1]
    return (total + MICRO // 2) // MICRO


def describe(micro_per_mtok):
    """'$3', '$0.25' or '$0.075': a stored price in dollars, for pages and the shell."""
    return "$" + format((Decimal(micro_per_mtok) / MICRO).normalize(), "f")
