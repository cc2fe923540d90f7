"""The only package that talks to ccxt / ccxt.pro: one generic adapter, venues as data."""

from arb.venues.adapter import Balance, Fee, OrderResult, OrderStatus, Venue, new_client_order_id

__all__ = ["Balance", "Fee", "OrderResult", "OrderStatus", "Venue", "new_client_order_id"]
