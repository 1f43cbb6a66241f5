"""The label store: annotation records, campaigns, consensus and export.

>>> from workbench.io.labels import open_store
>>> store = open_store(coll)                                  # doctest: +SKIP
>>> camp = store.create_campaign("demo", "fr-morphology", coll.ids, retire=3)  # doctest: +SKIP
>>> item = camp.next_item("ada")                              # doctest: +SKIP
>>> camp.annotate(item, {"morphology": "FRII", "confidence": "confident"}, annotator="ada")
>>> camp.consensus()                                          # doctest: +SKIP
>>> token = store.invite("demo", "bea")   # a personal labeling token   # doctest: +SKIP

Modules, bottom up: ``_db`` (times, JSON, annotator names) and ``schema`` (tables);
``migrations``; ``campaigns``, ``drafts``, ``invites`` and ``consensus``; ``store`` (the
:class:`LabelStore`, which uses them); ``report`` (campaign figures) and ``export``.
"""

from workbench.io.labels.campaigns import Campaign, create_campaign
from workbench.io.labels.consensus import dawid_skene, majority, rgz_consensus
from workbench.io.labels.export import export_labels
from workbench.io.labels.store import LabelStore, default_annotator, open_store

__all__ = ["LabelStore", "open_store", "default_annotator", "Campaign", "create_campaign",
           "majority", "dawid_skene", "rgz_consensus", "export_labels"]
