"""The ``workbench`` command line: ingest, simulate, info, and the later batch commands.

Each top-level command lives in a module named after it (``train-ssl`` in ``train_ssl.py``,
``campaign`` in ``campaign.py``, ...). A subcommand added to a group from another module is in
a module named ``<group>_<command>`` (``ingest_mosaic``, ``simulate_radio`` for ``simulate
radio`` and ``radio-mosaic``, ``campaign_serve``), or, where one kind of data has commands in
several groups, in the module of that kind (``lenses``: ingest stamps, simulate lenses,
export lens-challenge; ``transients``: ingest filterbank/candidates, simulate transients,
export fetch-h5; ``zooniverse``: export zooniverse, labels import zooniverse). Every module
is registered in :data:`_COMMANDS`; heavy libraries are imported inside the commands, so
``workbench --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import click

from workbench.core.errors import WorkbenchError

__all__ = ["main", "cli"]

# (module, attribute, parent): each attribute is a click command or group, added to the
# top-level group (parent None) or to the named group registered before it.
# Add one line per command module; keep heavy imports inside the command functions.
_COMMANDS = [
    ("workbench.cli.info", "info", None),
    ("workbench.cli.ingest", "ingest", None),
    ("workbench.cli.simulate", "simulate", None),
    ("workbench.cli.simulate_radio", "radio", "simulate"),
    ("workbench.cli.simulate_radio", "radio_mosaic", "simulate"),
    ("workbench.cli.ingest_mosaic", "ingest_mosaic_cmd", "ingest"),
    ("workbench.cli.lenses", "ingest_stamps_cmd", "ingest"),
    ("workbench.cli.lenses", "simulate_lenses_cmd", "simulate"),
    ("workbench.cli.transients", "ingest_filterbank", "ingest"),
    ("workbench.cli.transients", "simulate_transients", "simulate"),
    ("workbench.cli.train_ssl", "train_ssl", None),
    ("workbench.cli.embed", "embed", None),
    ("workbench.cli.map", "map_", None),
    ("workbench.cli.anomalies", "anomalies", None),
    ("workbench.cli.schemes", "schemes", None),
    ("workbench.cli.campaign", "campaign", None),
    ("workbench.cli.campaign_serve", "serve", "campaign"),
    ("workbench.cli.labels", "labels", None),
    ("workbench.cli.export", "export", None),
    ("workbench.cli.transients", "ingest_candidates_cmd", "ingest"),
    ("workbench.cli.transients", "export_fetch_h5_cmd", "export"),
    ("workbench.cli.zooniverse", "export_zooniverse_cmd", "export"),
    ("workbench.cli.zooniverse", "labels_import", "labels"),
    ("workbench.cli.lenses", "export_lens_challenge_cmd", "export"),
    ("workbench.cli.components", "components", None),
    ("workbench.cli.train", "train", None),
    ("workbench.cli.predict", "predict", None),
    ("workbench.cli.al", "al", None),
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="workbench")
def cli():
    """Look at, label and learn from radio and time-domain survey data."""


for _mod, _attr, _parent in _COMMANDS:
    _cmd = getattr(importlib.import_module(_mod), _attr)
    (cli if _parent is None else cli.commands[_parent]).add_command(_cmd)


def main(argv=None):
    """Entry point: run the CLI, turning workbench errors into one clear line and exit code 2.

    Anything else that escapes a command is a bug: one line and exit code 1 (the traceback
    with ``WORKBENCH_DEBUG=1``).
    """
    try:
        cli.main(args=argv, prog_name="workbench", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except WorkbenchError as exc:
        click.echo("error: " + " ".join(str(exc).split("\n")), err=True)  # always one line
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # e.g. `workbench schemes | head`: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except Exception as exc:  # a bug, not bad input: say so in one line, exit 1
        import os

        if os.environ.get("WORKBENCH_DEBUG"):
            raise
        text = " ".join(str(exc).split())[:300]
        click.echo(f"internal error: {type(exc).__name__}: {text} (a workbench bug, not your "
                   "input's fault; rerun with WORKBENCH_DEBUG=1 for the traceback and report "
                   "it as SECURITY.md says)", err=True)
        sys.exit(1)
