"""Stage 2, parse: feed bodies (RSS, Atom, RDF, JSON Feed) and article pages into entries (pure)."""
