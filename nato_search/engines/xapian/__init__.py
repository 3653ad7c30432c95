"""The scale-out backend: Xapian shards, local folders or ``xapian-tcpsrv`` servers."""
