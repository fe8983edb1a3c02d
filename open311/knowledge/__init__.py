"""Knowledge articles: loading, search and reads."""
