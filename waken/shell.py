"""What the shell commands share: a `delete NAME` command made from its domain function."""
import click

from waken import db


def delete_command(group, argument, delete, done, help):
    """Add `delete ARGUMENT` to a ShellGroup: delete(value) in one write, then echo done(row).

    The domain function finds the row by its name and raises NotFound when there is none.
    """
    @group.command("delete", help=help)
    @click.argument(argument)
    def command(**values):
        with db.write():
            row = delete(values[argument])
        click.echo(done(row))
    return command
