"""``workbench campaign serve``: label a campaign in the browser, without notebooks."""

from __future__ import annotations

import sys

import click

__all__ = ["serve"]


@click.command("serve")
@click.argument("collection", type=click.Path())
@click.option("--name", required=True, help="The campaign to serve.")
@click.option("--port", type=click.IntRange(1, 65535), default=8891, show_default=True,
              help="TCP port to listen on.")
@click.option("--ip", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface; use TLS in front).")
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Label store URL or file (default: COLLECTION/labels.sqlite).")
def serve(collection, name, port, ip, store_url):
    """Serve campaign NAME of COLLECTION to invited annotators, in their browsers.

    A Jupyter server with only the workbench campaign extension: no files, kernels or
    terminals. Each annotator opens the link `workbench campaign invite` printed for them
    (a personal token; requests without a valid one get 403). Stop with Ctrl-C.
    """
    from workbench.io.collection import open as open_collection
    from workbench.io.labels import open_store

    _check_port(ip, port)
    coll = open_collection(collection)  # errors (no Collection, no campaign) before serving
    store = open_store(coll, url=store_url)
    camp = store.campaign(name)
    n_invites = int(store.invites(camp.name)["valid"].sum())
    store.close()

    from workbench.server.app import label_url, make_app

    app = make_app(coll.path, camp.name, store_url=store_url or str(store.url), port=port,
                   ip=ip)
    host = ip if ip not in ("", "0.0.0.0", "::") else "HOST"
    click.echo(f"serving campaign {camp.name!r} of {coll.path} "
               f"({n_invites} valid invite(s)) at {label_url(f'http://{host}:{port}', camp.name)}")
    click.echo(f"invite annotators with: workbench campaign invite {coll.path} --name {camp.name} "
               "--annotator NAME; stop with Ctrl-C")
    sys.stdout.flush()
    app.start()


def _check_port(ip: str, port: int) -> None:
    """A clear error, before anything starts, when the port cannot be listened on."""
    import socket

    from workbench.core.errors import InputError

    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, port))
        except OSError as exc:
            raise InputError(f"cannot listen on {ip}:{port} ({exc.strerror or exc})",
                             hint="is another server using that port? choose one with --port")\
                from None
