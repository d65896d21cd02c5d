"""The ops review desk: confirmation screenshots, reviewer verdicts, PHI access audit.

``portalbot review`` serves it (``portalbot.review.app``); its tables are in the ledger
(migration 0002) and reached through ``portalbot.review.store``.
"""
