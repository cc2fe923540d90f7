"""arb: cross-exchange spot arbitrage on MEXC and Gate.io, built on ccxt / ccxt.pro."""

__version__ = "0.1.0"
