"""Operations: the status server (health, metrics, status page), alerts and settings reload.

Everything here reads what the pipeline and the executor already count, or listens to
finished trades; none of it runs on the per-update path.
"""
