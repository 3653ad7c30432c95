"""Adapters to other libraries' interfaces, each behind its own extra.

``langchain``: :class:`~nato_search.integrations.langchain.NatoSearchRetriever`, a
LangChain retriever (the ``langchain`` extra). Like the CLI and the HTTP app, an
integration is a face: it uses the public API only, never ``nato_search.engines``.
"""
