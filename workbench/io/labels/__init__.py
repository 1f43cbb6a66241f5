"""The label store: annotation records, campaigns, consensus and export.

>>> from workbench.io.labels import open_store
>>> store = open_store(coll)                                  # doctest: +SKIP
>>> camp = store.create_campaign("demo", "fr-morphology", coll.ids, retire=3)  # doctest: +SKIP
>>> item = camp.next_item("ada")                              # doctest: +SKIP
>>> camp.annotate(item, {"morphology": "FRII", "confidence": "confident"}, annotator="ada")
>>> camp.consensus()                                          # doctest: +SKIP
"""

from workbench.io.labels.campaigns import Campaign, create_campaign
from workbench.io.labels.consensus import dawid_skene, majority, rgz_consensus
from workbench.io.labels.export import export_labels
from workbench.io.labels.store import LabelStore, default_annotator, open_store

__all__ = ["LabelStore", "open_store", "default_annotator", "Campaign", "create_campaign",
           "majority", "dawid_skene", "rgz_consensus", "export_labels"]
