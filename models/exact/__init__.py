"""The exact model core: SmolLM2 computed with integer and fixed-order float32 arithmetic,
so that every machine gets identical logits (format backend ``exact-v1``)."""
