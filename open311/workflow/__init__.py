"""The life of a request after filing: stages, who may move them, and the history."""
