"""Photos filed with requests: the pipeline that cleans them, where they are kept
(storage), and the rows that say which request shows which (actions, queries)."""
