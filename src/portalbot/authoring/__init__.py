"""Authoring a new payer: record a portal's pages once (``record``), replay them in the
generated adapter tests (``replay``), and draft an adapter from a live form (``scaffold``).

Recordings live in ``payers/recordings/<payer_id>/<claim_id>.har``, each with a
``<claim_id>.json`` beside it saying what was recorded (see ``portalbot.authoring.record``).
"""
