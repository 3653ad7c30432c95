"""Documents in: files, folders and records read into :class:`~nato_search.Document`,
one module a format (:mod:`~nato_search.readers.formats` says which takes a file)."""
