"""The label store: annotation records and campaigns.

>>> from workbench.io.labels import open_store
>>> store = open_store(coll)                                  # doctest: +SKIP
>>> camp = store.create_campaign("demo", "fr-morphology", coll.ids, retire=3)  # doctest: +SKIP
>>> item = camp.next_item("ada")                              # doctest: +SKIP
>>> camp.annotate(item, {"morphology": "FRII", "confidence": "confident"}, annotator="ada")
>>> from workbench.labeling.consensus import campaign_consensus
>>> campaign_consensus(camp)                                   # doctest: +SKIP
>>> token = store.invite("demo", "bea")   # a personal labeling token   # doctest: +SKIP

Modules, bottom up: ``_db`` (times, JSON, annotator names) and ``schema`` (tables);
``migrations``; ``campaigns``, ``drafts``, ``invites``; ``store`` (the :class:`LabelStore`,
which uses them); ``zooniverse`` (imports). Consensus, campaign reports and export (tables,
regions, masks) read the store from :mod:`workbench.labeling` (``consensus``, ``report``,
``export``, ``masks``).
"""

from workbench.io.labels.campaigns import Campaign, create_campaign
from workbench.io.labels.store import LabelStore, default_annotator, open_store

__all__ = ["LabelStore", "open_store", "default_annotator", "Campaign", "create_campaign"]
