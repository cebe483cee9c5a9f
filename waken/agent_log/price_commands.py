"""The `price` commands: the owner's model price table from the shell."""
import click

from waken import db
from waken.agent_log import prices
from waken.errors import ShellGroup
from waken.shell import delete_command

price_cli = ShellGroup("price", help="Model prices (dollars per million tokens) that give GenAI spans a cost.")


def _price_line(row):
    return (f"{row.model}\tinput {prices.describe(row.input_per_mtok)}\toutput "
            f"{prices.describe(row.output_per_mtok)}\tper million tokens")


@price_cli.command("set")
@click.argument("model")
@click.argument("input_per_mtok")
@click.argument("output_per_mtok")
def set_price_command(model, input_per_mtok, output_per_mtok):
    """Set MODEL's price: dollars per million input tokens, then per million output tokens."""
    with db.write():
        row = prices.set_price(model, input_per_mtok, output_per_mtok)
    click.echo(_price_line(row))


@price_cli.command("list")
def list_prices_command():
    """List the prices (none by default: no cost is ever invented)."""
    for row in prices.list_prices():
        click.echo(_price_line(row))


delete_command(price_cli, "model", prices.delete_price, lambda row: f"Deleted the price of {row.model}",
               help="Delete MODEL's price: its later spans get no cost.")
