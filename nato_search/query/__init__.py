"""The query layer, engine-neutral: the syntax people type (:mod:`.syntax`), how a query
grows (:mod:`.expansion`: typos, synonyms, names), and the plan every engine runs."""
