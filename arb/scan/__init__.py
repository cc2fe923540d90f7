"""`arb scan`: watch books on every venue and report opportunities net of fees."""
