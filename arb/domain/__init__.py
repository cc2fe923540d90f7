"""The pure trading core: symbols, books and profit math. No I/O, no ccxt, no clocks."""
