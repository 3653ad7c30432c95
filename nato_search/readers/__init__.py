"""Documents in: files, folders and records read into :class:`~nato_search.Document`."""
