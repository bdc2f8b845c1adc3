"""Stage 3, identity: everything dedup needs — GUIDs, canonical URLs, content hashes, and the
near-duplicate sketch stories are joined by (pure)."""
