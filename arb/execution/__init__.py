"""Two-leg execution: fresh-balance sizing, risk limits and breaker, settlement, paper wallet."""
