"""``workbench schemes``: list the label schemes.
"""

from __future__ import annotations

import json

import click

__all__ = ["schemes"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the schemes as JSON (full trees).")
def schemes(as_json):
    """List the label schemes with their versions, classes and questions."""
    from workbench.core.schemes import list_schemes

    all_ = list_schemes()
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in all_], indent=1))
        return
    for s in all_:
        kinds = ",".join(s.kinds) or "any"
        click.echo(f"{s.name:<14} v{s.version}  {s.title}  [{kinds}]")
        for q in s.questions:
            vals = f": {', '.join(map(str, q.values))}" if q.answers else ""
            scope = ", per source" if q.scope == "source" else ""
            click.echo(f"    {q.id} ({q.type}{scope}){vals}")
