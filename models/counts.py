"""Bounded hashed tables of next-token counts per context, one table per order.

Shared by the n-gram and PPM models. Memory is bounded twice: each order has a fixed
number of slots (a context hashes to one slot; a colliding newcomer replaces the old
context), and each context keeps at most ``max_candidates`` tokens (the rarest goes).
All operations are deterministic: integer hashing, insertion-ordered dicts.
"""

from __future__ import annotations

_MASK64 = (1 << 64) - 1


def context_hash(tokens: list[int], order: int) -> int:
    """FNV-style hash of the last ``order`` tokens, mixed with the order."""
    h = (0xCBF29CE484222325 ^ order) & _MASK64
    for t in tokens[-order:]:
        h = ((h ^ (t + 1)) * 0x100000001B3) & _MASK64
    return h


class ContextCounts:
    """counts[order][context] -> {token: count}, bounded."""

    def __init__(self, orders: tuple[int, ...], slots_log2: int = 18, max_candidates: int = 24) -> None:
        self.orders = tuple(sorted(orders))
        self.mask = (1 << slots_log2) - 1
        self.max_candidates = max_candidates
        self.tables: dict[int, dict[int, tuple[int, dict[int, int]]]] = {k: {} for k in self.orders}

    def lookup(self, history: list[int], order: int) -> dict[int, int] | None:
        if len(history) < order:
            return None
        h = context_hash(history, order)
        entry = self.tables[order].get(h & self.mask)
        if entry is None or entry[0] != h:
            return None
        return entry[1]

    def update(self, history: list[int], token: int) -> None:
        """Count ``token`` after each order's context of ``history`` (history excludes token)."""
        for order in self.orders:
            if len(history) < order:
                continue
            h = context_hash(history, order)
            table = self.tables[order]
            slot = h & self.mask
            entry = table.get(slot)
            if entry is None or entry[0] != h:
                entry = (h, {})
                table[slot] = entry
            counts = entry[1]
            if token in counts:
                counts[token] += 1
            else:
                if len(counts) >= self.max_candidates:
                    rarest = min(counts, key=counts.__getitem__)  # first minimum: deterministic
                    del counts[rarest]
                counts[token] = 1
