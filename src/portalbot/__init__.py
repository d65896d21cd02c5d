"""portalbot: submits finished CCM claims through payer web portals, exactly once."""

__version__ = "0.1.0"
